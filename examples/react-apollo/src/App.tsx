import { useMutation, useQuery } from '@apollo/client/react';
import { useState, useSyncExternalStore, type FormEvent } from 'react';
import { endSession, getAuthState, signIn, subscribe } from './auth';
import {
  ChangePasswordDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RegisterDocument,
  RevokeSessionDocument,
  SessionsDocument,
  type SessionsQuery,
} from './generated/graphql';
import { accountPage } from './account/AccountPages';
import { ForgotPassword } from './account/ForgotPassword';
import { VerifyEmailBanner } from './account/VerifyEmailBanner';
import { mfaTokenOf } from './mfa/codes';
import { MfaStep } from './mfa/MfaStep';
import { TwoFactor } from './mfa/TwoFactor';
import { SecurityLog } from './SecurityLog';

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function App() {
  const auth = useSyncExternalStore(subscribe, getAuthState);
  // The pages the API's mails link to (/verify-email, /reset-password).
  const page = accountPage(window.location.pathname);
  if (page)
    return (
      <main>
        <h1>Auth API · React + Apollo</h1>
        {page}
      </main>
    );
  return (
    <main>
      <h1>Auth API · React + Apollo</h1>
      {auth.cookieModeOff && <CookieModeWarning />}
      {auth.status === 'loading' && <p data-testid="loading">Restoring your session…</p>}
      {auth.status === 'signed-out' && <AuthForms notice={auth.notice} />}
      {auth.status === 'signed-in' && <Dashboard />}
    </main>
  );
}

/** The server answered with a refresh token in the body: this app cannot keep the session. */
function CookieModeWarning() {
  return (
    <p className="warning" role="alert" data-testid="cookie-mode-warning">
      The API is not in cookie mode: it sends the refresh token in the response, which this app does
      not keep (a token page scripts can read is what an XSS steals). You stay signed in until you
      reload or close this page. Start the API with <code>AUTH_REFRESH_COOKIE=true</code> (see the
      README, &ldquo;React client&rdquo;).
    </p>
  );
}

// ---- signed out ---------------------------------------------------------------

function AuthForms({ notice }: { notice: string | null }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  // The second step (src/mfa/MfaStep.tsx) after login answered MFA_REQUIRED.
  const [mfa, setMfa] = useState<{ token: string } | null>(null);
  const [stepNotice, setStepNotice] = useState<string | null>(null);
  const [login, loginState] = useMutation(LoginDocument);
  const [register, registerState] = useMutation(RegisterDocument);
  const busy = loginState.loading || registerState.loading;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      if (mode === 'login') {
        const { data } = await login({ variables: { input: { email, password } } });
        if (data) signIn(data.login.accessToken, data.login.refreshToken);
      } else {
        const { data } = await register({
          variables: { input: { email, password, name: name || null } },
        });
        if (data) signIn(data.register.accessToken, data.register.refreshToken);
      }
    } catch (err) {
      const mfaToken = mfaTokenOf(err);
      if (mfaToken) setMfa({ token: mfaToken });
      else setError(errorText(err));
    }
  }

  if (mfa)
    return (
      <section className="card" data-testid="auth-forms">
        <h2>Two-step sign-in</h2>
        <MfaStep
          mfaToken={mfa.token}
          onRestart={(why) => {
            setMfa(null);
            setPassword('');
            setStepNotice(why);
          }}
        />
      </section>
    );

  return (
    <section className="card" data-testid="auth-forms">
      <div className="tabs">
        <button
          type="button"
          className={mode === 'login' ? 'active' : ''}
          onClick={() => setMode('login')}
          data-testid="mode-login"
        >
          Sign in
        </button>
        <button
          type="button"
          className={mode === 'register' ? 'active' : ''}
          onClick={() => setMode('register')}
          data-testid="mode-register"
        >
          Create account
        </button>
      </div>
      {(stepNotice ?? notice) && (
        <p className="notice" data-testid="auth-notice">
          {stepNotice ?? notice}
        </p>
      )}
      <form onSubmit={submit} data-testid={`${mode}-form`}>
        <label>
          Email
          <input
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {mode === 'register' && (
          <label>
            Name (optional)
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
        )}
        <button type="submit" disabled={busy} data-testid="auth-submit">
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
        {error && (
          <p className="error" data-testid="auth-error">
            {error}
          </p>
        )}
      </form>
      {mode === 'login' && <ForgotPassword />}
    </section>
  );
}

// ---- signed in ----------------------------------------------------------------

function Dashboard() {
  const me = useQuery(MeDocument);
  const sessions = useQuery(SessionsDocument, { fetchPolicy: 'cache-and-network' });
  const [logout, logoutState] = useMutation(LogoutDocument);
  const [reloadError, setReloadError] = useState<string | null>(null);

  async function reload() {
    setReloadError(null);
    try {
      // Two guarded queries at once: after the access token expired both fail,
      // and the link makes ONE refreshToken call for the two.
      await Promise.all([me.refetch(), sessions.refetch()]);
    } catch (e) {
      setReloadError(errorText(e));
    }
  }

  async function signOut(allSessions: boolean) {
    try {
      await logout({ variables: { input: { allSessions } } });
    } catch {
      // Even if the server cannot be reached, forget everything locally.
    }
    // Forget the token, clear the Apollo store (auth.ts) and tell the other tabs.
    await endSession(null, true);
  }

  return (
    <>
      {me.data && !me.data.me.emailVerified && (
        <VerifyEmailBanner email={me.data.me.email} onVerified={() => me.refetch()} />
      )}
      <section className="card" data-testid="me">
        <h2>Me</h2>
        {me.loading && !me.data && <p>Loading…</p>}
        {me.error && <p className="error">{me.error.message}</p>}
        {me.data && (
          <dl>
            <dt>Email</dt>
            <dd data-testid="me-email">{me.data.me.email}</dd>
            <dt>Name</dt>
            <dd data-testid="me-name">{me.data.me.name ?? '—'}</dd>
            <dt>Role</dt>
            <dd data-testid="me-role">{me.data.me.role}</dd>
            <dt>User id</dt>
            <dd>
              <code>{me.data.me.id}</code>
            </dd>
            <dt>Member since</dt>
            <dd>{new Date(me.data.me.createdAt).toLocaleString()}</dd>
          </dl>
        )}
        <p className="hint">
          The access token is kept in memory only; the refresh token is an HttpOnly cookie this page
          cannot read. When the access token expires, the next request refreshes it once and is
          retried.
        </p>
        <div className="row">
          <button type="button" onClick={reload} data-testid="reload-data">
            Reload data
          </button>
          <button
            type="button"
            onClick={() => signOut(false)}
            disabled={logoutState.loading}
            data-testid="logout"
          >
            Log out
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => signOut(true)}
            disabled={logoutState.loading}
            data-testid="logout-all"
          >
            Log out everywhere
          </button>
        </div>
        {reloadError && <p className="error">{reloadError}</p>}
      </section>
      <Sessions
        sessions={sessions.data?.sessions}
        error={sessions.error?.message}
        refetch={() => sessions.refetch()}
      />
      <ChangePassword onChanged={() => sessions.refetch()} />
      <TwoFactor mfaEnabled={me.data?.me.mfaEnabled} />
      <SecurityLog />
    </>
  );
}

function Sessions(props: {
  sessions: SessionsQuery['sessions'] | undefined;
  error: string | undefined;
  refetch: () => Promise<unknown>;
}) {
  const [revoke] = useMutation(RevokeSessionDocument);
  const [message, setMessage] = useState<string | null>(null);

  async function onRevoke(id: string, current: boolean) {
    setMessage(null);
    try {
      const { data } = await revoke({ variables: { id } });
      if (current && data?.revokeSession) {
        // Our own session: its refresh token and access tokens are dead now.
        await endSession('You revoked this session.', true);
        return;
      }
      setMessage(data?.revokeSession ? 'Session revoked.' : 'That session was already gone.');
      await props.refetch();
    } catch (e) {
      setMessage(errorText(e));
    }
  }

  return (
    <section className="card" data-testid="sessions">
      <h2>Sessions</h2>
      {props.error && <p className="error">{props.error}</p>}
      {!props.sessions && !props.error && <p>Loading…</p>}
      {props.sessions && (
        <table>
          <thead>
            <tr>
              <th>Device</th>
              <th>IP</th>
              <th>Opened</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.sessions.map((s) => (
              <tr key={s.id} data-testid="session-row" data-current={s.current}>
                <td title={s.userAgent ?? ''}>
                  {shortAgent(s.userAgent)}
                  {s.current && <span className="badge">this browser</span>}
                </td>
                <td>{s.ip ?? '—'}</td>
                <td>{new Date(s.createdAt).toLocaleString()}</td>
                <td>{new Date(s.lastUsedAt).toLocaleString()}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => onRevoke(s.id, s.current)}
                    data-testid="revoke-session"
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {message && <p data-testid="sessions-message">{message}</p>}
    </section>
  );
}

function shortAgent(ua: string | null): string {
  if (!ua) return 'Unknown device';
  const m = /(Firefox|Edg|Chrome|Chromium|HeadlessChrome|Safari)\/[\d.]+/.exec(ua);
  return m ? m[0] : ua.slice(0, 40);
}

function ChangePassword({ onChanged }: { onChanged: () => Promise<unknown> }) {
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [change, { loading }] = useMutation(ChangePasswordDocument);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setMessage(null);
    try {
      await change({ variables: { input: { currentPassword, newPassword } } });
      setCurrent('');
      setNew('');
      setMessage({ ok: true, text: 'Password changed. Every other session was signed out.' });
      await onChanged();
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    }
  }

  return (
    <section className="card" data-testid="change-password">
      <h2>Change password</h2>
      <form onSubmit={submit}>
        <label>
          Current password
          <input
            type="password"
            name="currentPassword"
            autoComplete="current-password"
            required
            value={currentPassword}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
        <label>
          New password
          <input
            type="password"
            name="newPassword"
            autoComplete="new-password"
            required
            minLength={8}
            value={newPassword}
            onChange={(e) => setNew(e.target.value)}
          />
        </label>
        <button type="submit" disabled={loading} data-testid="change-password-submit">
          Change password
        </button>
        {message && (
          <p className={message.ok ? 'ok' : 'error'} data-testid="change-password-message">
            {message.text}
          </p>
        )}
      </form>
    </section>
  );
}
