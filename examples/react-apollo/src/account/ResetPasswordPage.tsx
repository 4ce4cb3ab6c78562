import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { endSession } from '../auth';
import { ResetPasswordDocument } from '../generated/graphql';
import { ForgotPassword } from './ForgotPassword';
import { problemOf, tokenFromUrl } from './links';

/**
 * /reset-password?token=…: the link of the reset mail. A new password (the
 * rules of register: 8+ characters) ends every session of the account,
 * this browser's included; then sign in with it.
 */
export function ResetPasswordPage() {
  const token = tokenFromUrl();
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [reset, { loading }] = useMutation(ResetPasswordDocument);
  const [done, setDone] = useState(false);
  const [badLink, setBadLink] = useState(!token);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (password !== again) {
      setError('The two passwords differ.');
      return;
    }
    try {
      await reset({ variables: { input: { token, newPassword: password } } });
      setDone(true);
      // Every session of the account is revoked, this browser's too: forget it here and in other tabs.
      await endSession('Your password was changed. Sign in with the new one.', true);
    } catch (err) {
      const p = problemOf(err);
      if (p.code === 'BAD_USER_INPUT' && p.fields.includes('token')) setBadLink(true);
      else if (p.code === 'BAD_USER_INPUT' && p.fields.includes('newPassword'))
        setError('Choose a password of at least 8 characters.');
      else setError(p.message);
    }
  }

  if (done) {
    return (
      <section className="card" data-testid="reset-password-page">
        <h2>Password changed</h2>
        <p className="ok" data-testid="reset-password-done">
          Your password was changed and every session of your account was signed out.
        </p>
        <p>
          <a href="/" data-testid="to-app">
            Sign in with the new password
          </a>
        </p>
      </section>
    );
  }

  if (badLink) {
    return (
      <section className="card" data-testid="reset-password-page">
        <h2>Reset your password</h2>
        <p className="error" data-testid="reset-password-invalid">
          This link is invalid, expired or already used. Ask for a new one:
        </p>
        <ForgotPassword open />
        <p>
          <a href="/">Back to sign in</a>
        </p>
      </section>
    );
  }

  return (
    <section className="card" data-testid="reset-password-page">
      <h2>Choose a new password</h2>
      <form onSubmit={submit} data-testid="reset-password-form">
        <label>
          New password
          <input
            type="password"
            name="newPassword"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label>
          The same again
          <input
            type="password"
            name="newPasswordAgain"
            autoComplete="new-password"
            required
            minLength={8}
            value={again}
            onChange={(e) => setAgain(e.target.value)}
          />
        </label>
        <button type="submit" disabled={loading} data-testid="reset-password-submit">
          Set the new password
        </button>
        {error && (
          <p className="error" data-testid="reset-password-error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
