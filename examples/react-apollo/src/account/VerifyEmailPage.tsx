import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import { VerifyEmailDocument } from '../generated/graphql';
import { accountChannel, problemOf, tokenFromUrl } from './links';

/**
 * /verify-email?token=…: the link of the verification mail. The token is
 * spent by the button, not by loading the page: mail scanners open links
 * before the person does, and a page that verified on load would spend it.
 */
export function VerifyEmailPage() {
  const token = tokenFromUrl();
  const [verify, { loading }] = useMutation(VerifyEmailDocument);
  const [state, setState] = useState<'ready' | 'done' | 'bad' | 'error'>(token ? 'ready' : 'bad');
  const [message, setMessage] = useState('');

  async function confirm() {
    try {
      await verify({ variables: { token } });
      setState('done');
      accountChannel?.postMessage({ type: 'email-verified' });
    } catch (e) {
      const p = problemOf(e);
      if (p.code === 'BAD_USER_INPUT') setState('bad');
      else {
        setState('error');
        setMessage(p.message);
      }
    }
  }

  return (
    <section className="card" data-testid="verify-email-page">
      <h2>Confirm your email address</h2>
      {state === 'ready' && (
        <>
          <p>Confirm that this address is yours.</p>
          <button
            type="button"
            onClick={confirm}
            disabled={loading}
            data-testid="verify-email-confirm"
          >
            Confirm my address
          </button>
        </>
      )}
      {state === 'done' && (
        <p className="ok" data-testid="verify-email-done">
          Your address is verified.
        </p>
      )}
      {state === 'bad' && (
        <p className="error" data-testid="verify-email-invalid">
          This link is invalid, expired or already used. Sign in and ask for a new one.
        </p>
      )}
      {state === 'error' && (
        <>
          <p className="error">{message}</p>
          <button type="button" onClick={confirm} disabled={loading}>
            Try again
          </button>
        </>
      )}
      <p>
        <a href="/" data-testid="to-app">
          Continue to the app
        </a>
      </p>
    </section>
  );
}
