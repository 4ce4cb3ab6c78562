import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { RequestPasswordResetDocument } from '../generated/graphql';
import { problemOf } from './links';

/**
 * "Forgot password?": asks for a reset link. The server answers the same
 * whether or not the address has an account, and so does this form.
 */
export function ForgotPassword({ open: initiallyOpen = false }: { open?: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [request, { loading }] = useMutation(RequestPasswordResetDocument);

  if (!open) {
    return (
      <button
        type="button"
        className="secondary"
        onClick={() => setOpen(true)}
        data-testid="forgot-password"
      >
        Forgot password?
      </button>
    );
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await request({ variables: { email } });
      setSentTo(email);
    } catch (err) {
      const p = problemOf(err);
      setError(
        p.code === 'BAD_USER_INPUT'
          ? 'That is not a valid email address.'
          : p.code === 'TOO_MANY_REQUESTS'
            ? 'Too many requests; try again in a minute.'
            : p.message,
      );
    }
  }

  return (
    <form onSubmit={submit} data-testid="forgot-password-form">
      <label>
        Your account's email
        <input
          name="resetEmail"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </label>
      <button type="submit" disabled={loading} data-testid="forgot-password-submit">
        Email me a reset link
      </button>
      {sentTo && (
        <p className="ok" data-testid="forgot-password-sent">
          If {sentTo} has an account, a reset link is on its way. It works once, for a limited time.
        </p>
      )}
      {error && <p className="error">{error}</p>}
    </form>
  );
}
