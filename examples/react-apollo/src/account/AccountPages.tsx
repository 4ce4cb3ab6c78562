import type { ReactNode } from 'react';
import { RESET_PASSWORD_PATH, VERIFY_EMAIL_PATH } from './links';
import { ResetPasswordPage } from './ResetPasswordPage';
import { VerifyEmailPage } from './VerifyEmailPage';

/** The page for a mail link's path, or null for the app's own pages. */
export function accountPage(pathname: string): ReactNode | null {
  const path = pathname.replace(/\/+$/, '');
  if (path === VERIFY_EMAIL_PATH) return <VerifyEmailPage />;
  if (path === RESET_PASSWORD_PATH) return <ResetPasswordPage />;
  return null;
}
