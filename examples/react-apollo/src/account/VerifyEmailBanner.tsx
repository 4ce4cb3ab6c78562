import { useMutation } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import { SendVerificationEmailDocument } from '../generated/graphql';
import { accountChannel, problemOf } from './links';

/**
 * Shown while the caller's address is unverified, with a "resend" button.
 * `onVerified` reloads `me` (the banner goes away once the server says the
 * address is verified), also when the link was opened in another tab.
 */
export function VerifyEmailBanner({
  email,
  onVerified,
}: {
  email: string;
  onVerified: () => Promise<unknown>;
}) {
  const [send, { loading }] = useMutation(SendVerificationEmailDocument);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    if (!accountChannel) return;
    const onMessage = (e: MessageEvent<{ type?: string }>) => {
      if (e.data?.type === 'email-verified') void onVerified();
    };
    accountChannel.addEventListener('message', onMessage);
    return () => accountChannel?.removeEventListener('message', onMessage);
  }, [onVerified]);

  async function resend() {
    setMessage(null);
    try {
      await send();
      // The server sends at most one mail a minute per address, silently.
      setMessage(`Asked for a new link to ${email}; at most one is sent per minute.`);
    } catch (e) {
      setMessage(problemOf(e).message);
    }
  }

  return (
    <section className="notice" style={{ marginBottom: 16 }} data-testid="verify-banner">
      Please confirm your email address: open the link we sent to <strong>{email}</strong>.{' '}
      <button
        type="button"
        className="secondary"
        onClick={resend}
        disabled={loading}
        data-testid="verify-resend"
      >
        Resend
      </button>{' '}
      <button
        type="button"
        className="secondary"
        onClick={() => void onVerified()}
        data-testid="verify-check"
      >
        I have confirmed it
      </button>
      {message && <p data-testid="verify-banner-message">{message}</p>}
    </section>
  );
}
