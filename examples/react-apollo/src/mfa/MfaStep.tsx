import { useMutation } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { problemOf } from '../account/links';
import { signIn } from '../auth';
import { VerifyMfaDocument } from '../generated/graphql';
import { codeProblem, MFA_TOKEN_TRIES, normaliseCode } from './codes';

/**
 * The login's second step, after `login` answered MFA_REQUIRED with an
 * mfaToken: a code from the authenticator app or a recovery code goes to
 * `verifyMfa`, which opens the session exactly like `login` (in cookie mode
 * the refresh token arrives as the HttpOnly cookie).
 *
 * The mfaToken is single use, lives 5 minutes and dies after 5 wrong codes;
 * the server answers UNAUTHENTICATED for a dead token as for a wrong code, so
 * this form counts the refused codes and sends the user back to the password
 * after the fifth (`onRestart`); the refusal message says to start again
 * after 5 minutes.
 */
export function MfaStep({
  mfaToken,
  onRestart,
}: {
  mfaToken: string;
  onRestart: (notice: string | null) => void;
}) {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const [wrong, setWrong] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [verify, { loading }] = useMutation(VerifyMfaDocument);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const { data } = await verify({
        variables: { input: { mfaToken, code: normaliseCode(code) } },
      });
      if (data) signIn(data.verifyMfa.accessToken, data.verifyMfa.refreshToken);
    } catch (err) {
      setCode('');
      // Only a refused code counts against the token (a malformed one never reaches it).
      const failures = problemOf(err).code === 'UNAUTHENTICATED' ? wrong + 1 : wrong;
      setWrong(failures);
      if (failures >= MFA_TOKEN_TRIES) {
        onRestart('Too many wrong codes: sign in with your password again.');
        return;
      }
      setError(codeProblem(err, true));
    }
  }

  return (
    <form onSubmit={submit} data-testid="mfa-step">
      <p>
        {recovery
          ? 'Type one of your recovery codes. Each one works once.'
          : 'Open your authenticator app and type the 6-digit code it shows for this account.'}
      </p>
      <label>
        {recovery ? 'Recovery code' : 'Code from the app'}
        <input
          key={recovery ? 'recovery' : 'totp'}
          name="mfaCode"
          autoComplete="one-time-code"
          inputMode={recovery ? 'text' : 'numeric'}
          autoFocus
          required
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
      </label>
      <div className="row">
        <button type="submit" disabled={loading} data-testid="mfa-submit">
          Verify
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setRecovery(!recovery);
            setCode('');
            setError(null);
          }}
          data-testid="mfa-toggle-recovery"
        >
          {recovery ? 'Use a code from the app' : 'Use a recovery code'}
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => onRestart(null)}
          data-testid="mfa-cancel"
        >
          Cancel
        </button>
      </div>
      {error && (
        <p className="error" data-testid="mfa-error">
          {error}
        </p>
      )}
    </form>
  );
}
