import { useApolloClient, useMutation } from '@apollo/client/react';
import { QRCodeSVG } from 'qrcode.react';
import { useState, type FormEvent } from 'react';
import { problemOf } from '../account/links';
import {
  ConfirmTotpDocument,
  DisableTotpDocument,
  EnrollTotpDocument,
  RegenerateRecoveryCodesDocument,
} from '../generated/graphql';
import { codeProblem, groupSecret, normaliseCode } from './codes';
import { RecoveryCodes } from './RecoveryCodes';

type View =
  | { kind: 'idle' }
  | { kind: 'enrolling'; secret: string; otpauthUri: string }
  | { kind: 'codes'; codes: string[]; why: 'enabled' | 'regenerated' };

/**
 * Two-step sign-in (TOTP) for the signed-in user: turn it on (a QR code of the
 * otpauth URI and the secret to type by hand, then a code to confirm), the
 * recovery codes shown once, new recovery codes, turn it off. Whether it is
 * on comes from the page's `me` query (`mfaEnabled`, undefined while loading):
 * this card sends nothing until the user acts.
 */
export function TwoFactor({ mfaEnabled }: { mfaEnabled: boolean | undefined }) {
  const client = useApolloClient();
  const [view, setView] = useState<View>({ kind: 'idle' });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const known = mfaEnabled !== undefined;
  const enabled = mfaEnabled ?? false;

  /** Me (mfaEnabled), Sessions (confirming ends the others) and the security log change. */
  const reload = () =>
    client.refetchQueries({ include: ['Me', 'Sessions', 'SecurityEvents'] }).catch(() => undefined);

  const [enroll, enrollState] = useMutation(EnrollTotpDocument);

  async function start() {
    setMessage(null);
    try {
      const { data } = await enroll();
      if (data) setView({ kind: 'enrolling', ...data.enrollTotp });
    } catch (e) {
      if (problemOf(e).code === 'CONFLICT') {
        setMessage({ ok: false, text: 'Two-step sign-in is already on for this account.' });
        await reload();
      } else setMessage({ ok: false, text: problemOf(e).message });
    }
  }

  return (
    <section className="card" data-testid="two-factor">
      <h2>Two-step sign-in</h2>
      {known && view.kind === 'idle' && (
        <p data-testid="two-factor-status" data-enabled={enabled}>
          {enabled
            ? 'On: signing in asks for a code from your authenticator app (or a recovery code) after your password.'
            : 'Off: your password alone signs you in.'}
        </p>
      )}
      {view.kind === 'idle' && known && !enabled && (
        <button
          type="button"
          onClick={start}
          disabled={enrollState.loading}
          data-testid="mfa-enable"
        >
          Turn on two-step sign-in
        </button>
      )}
      {view.kind === 'enrolling' && (
        <Enrolment
          secret={view.secret}
          otpauthUri={view.otpauthUri}
          onConfirmed={async (codes) => {
            setView({ kind: 'codes', codes, why: 'enabled' });
            await reload();
          }}
          onCancel={() => setView({ kind: 'idle' })}
        />
      )}
      {view.kind === 'codes' && (
        <>
          <p className="ok" data-testid="two-factor-done">
            {view.why === 'enabled'
              ? 'Two-step sign-in is on. Your other sessions were signed out.'
              : 'New recovery codes made; the old ones no longer work.'}
          </p>
          <RecoveryCodes codes={view.codes} onDone={() => setView({ kind: 'idle' })} />
        </>
      )}
      {view.kind === 'idle' && enabled && (
        <Manage
          onRegenerated={(codes) => {
            setMessage(null);
            setView({ kind: 'codes', codes, why: 'regenerated' });
            void reload();
          }}
          onDisabled={async () => {
            setMessage({ ok: true, text: 'Two-step sign-in is off.' });
            await reload();
          }}
        />
      )}
      {message && (
        <p className={message.ok ? 'ok' : 'error'} data-testid="two-factor-message">
          {message.text}
        </p>
      )}
    </section>
  );
}

/** The QR code and the secret, and the first code from the app to confirm. */
function Enrolment(props: {
  secret: string;
  otpauthUri: string;
  onConfirmed: (codes: string[]) => Promise<void>;
  onCancel: () => void;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [confirm, { loading }] = useMutation(ConfirmTotpDocument);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const { data } = await confirm({ variables: { code: normaliseCode(code) } });
      if (data) await props.onConfirmed(data.confirmTotp);
    } catch (err) {
      setError(
        problemOf(err).code === 'BAD_USER_INPUT'
          ? 'That is not the current code. Check that the clock of your phone is right and type the code the app shows now.'
          : problemOf(err).message,
      );
    }
  }

  return (
    <div data-testid="mfa-enrolment">
      <p>
        Scan this QR code with an authenticator app (Google Authenticator, 1Password, Aegis, …), or
        type the key below into it by hand.
      </p>
      <div className="qr" data-testid="mfa-qr">
        <QRCodeSVG
          value={props.otpauthUri}
          size={200}
          marginSize={4}
          title="QR code for your authenticator app"
        />
      </div>
      <p>
        Key: <code data-testid="mfa-secret">{groupSecret(props.secret)}</code>
      </p>
      <form onSubmit={submit}>
        <label>
          The 6-digit code the app shows
          <input
            name="totpCode"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="\s*(\d\s*){6}"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        </label>
        <div className="row">
          <button type="submit" disabled={loading} data-testid="mfa-confirm">
            Confirm and turn on
          </button>
          <button type="button" className="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
        {error && (
          <p className="error" data-testid="mfa-confirm-error">
            {error}
          </p>
        )}
      </form>
    </div>
  );
}

/** New recovery codes, or turning the factor off: each needs a current code or a recovery code. */
function Manage(props: {
  onRegenerated: (codes: string[]) => void;
  onDisabled: () => Promise<void>;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [regenerate, regenerateState] = useMutation(RegenerateRecoveryCodesDocument);
  const [disable, disableState] = useMutation(DisableTotpDocument);
  const busy = regenerateState.loading || disableState.loading;

  async function act(what: 'regenerate' | 'disable') {
    setError(null);
    if (!code.trim()) {
      setError('Type a code from your authenticator app or a recovery code first.');
      return;
    }
    try {
      const variables = { code: normaliseCode(code) };
      if (what === 'regenerate') {
        const { data } = await regenerate({ variables });
        setCode('');
        if (data) props.onRegenerated(data.regenerateRecoveryCodes);
      } else {
        await disable({ variables });
        setCode('');
        await props.onDisabled();
      }
    } catch (err) {
      setError(codeProblem(err));
    }
  }

  return (
    <form onSubmit={(e) => e.preventDefault()} data-testid="mfa-manage">
      <label>
        A code from your app, or a recovery code
        <input
          name="manageCode"
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
      </label>
      <div className="row">
        <button
          type="button"
          disabled={busy}
          onClick={() => act('regenerate')}
          data-testid="mfa-regenerate"
        >
          Make new recovery codes
        </button>
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={() => act('disable')}
          data-testid="mfa-disable"
        >
          Turn off two-step sign-in
        </button>
      </div>
      {error && (
        <p className="error" data-testid="mfa-manage-error">
          {error}
        </p>
      )}
    </form>
  );
}
