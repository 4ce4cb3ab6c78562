import { useLazyQuery, useQuery } from '@apollo/client/react';
import { useState } from 'react';
import {
  SecurityEventsDocument,
  type SecurityEventFieldsFragment,
  type SecurityEventType,
} from './generated/graphql';

/** Events per page (the API allows 1 to 100). */
const PAGE = 10;

/** What each event means to the person reading their own log. */
const LABELS: Record<SecurityEventType, string> = {
  REGISTER: 'Account created',
  LOGIN: 'Signed in',
  LOGIN_FAILED: 'Wrong password',
  LOGIN_LOCKED: 'Sign-in locked: too many wrong passwords',
  LOGOUT: 'Signed out',
  LOGOUT_ALL: 'Signed out everywhere',
  SESSION_REVOKED: 'Session revoked',
  REFRESH_TOKEN_REUSE: 'An old refresh token was used again: that session was ended',
  PASSWORD_CHANGED: 'Password changed',
  PASSWORD_RESET_REQUESTED: 'Password reset requested',
  PASSWORD_RESET: 'Password reset',
  EMAIL_VERIFIED: 'Email address verified',
  MFA_ENABLED: 'Two-step sign-in turned on',
  MFA_DISABLED: 'Two-step sign-in turned off',
  MFA_FAILED: 'Wrong second-step code',
  RECOVERY_CODE_USED: 'Recovery code used',
  RECOVERY_CODES_REGENERATED: 'New recovery codes made',
  ROLE_CHANGED: 'Role changed',
  USER_DISABLED: 'Account disabled',
  USER_ENABLED: 'Account enabled',
};

/**
 * The signed-in user's own security log (`securityEvents`), newest first, a
 * page at a time: "Older" asks for the page after the last event shown.
 */
export function SecurityLog() {
  const latest = useQuery(SecurityEventsDocument, {
    variables: { first: PAGE },
    fetchPolicy: 'cache-and-network',
  });
  const [loadPage, pageState] = useLazyQuery(SecurityEventsDocument, {
    fetchPolicy: 'network-only',
  });
  const [older, setOlder] = useState<SecurityEventFieldsFragment[]>([]);
  const [end, setEnd] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const events = [...(latest.data?.securityEvents ?? []), ...older];
  const atEnd = end || (latest.data ? latest.data.securityEvents.length < PAGE : false);

  async function more() {
    const last = events.at(-1);
    if (!last) return;
    setError(null);
    try {
      const r = await loadPage({ variables: { first: PAGE, after: last.id } });
      const page = r.data?.securityEvents ?? [];
      setOlder((o) => [...o, ...page]);
      if (page.length < PAGE) setEnd(true);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  async function refresh() {
    setOlder([]);
    setEnd(false);
    setError(null);
    try {
      await latest.refetch();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <section className="card" data-testid="security-log">
      <h2>Security log</h2>
      {latest.error && <p className="error">{latest.error.message}</p>}
      {!latest.data && !latest.error && <p>Loading…</p>}
      {latest.data && events.length === 0 && <p>Nothing yet.</p>}
      {events.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>What</th>
              <th>Device</th>
              <th>IP</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => {
              const byAdmin = e.actorId !== null && e.actorId !== e.userId;
              return (
                <tr key={e.id} data-testid="security-event" data-type={e.type} data-id={e.id}>
                  <td>{new Date(e.createdAt).toLocaleString()}</td>
                  <td>
                    {LABELS[e.type] ?? e.type}
                    {byAdmin && <span className="badge">by an administrator</span>}
                  </td>
                  <td title={e.userAgent ?? ''}>{byAdmin ? '—' : shortAgent(e.userAgent)}</td>
                  <td>{e.ip ?? '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="row">
        <button
          type="button"
          className="secondary"
          onClick={refresh}
          disabled={latest.loading}
          data-testid="security-log-refresh"
        >
          Refresh
        </button>
        {!atEnd && events.length > 0 && (
          <button
            type="button"
            className="secondary"
            onClick={more}
            disabled={pageState.loading}
            data-testid="security-log-more"
          >
            Older
          </button>
        )}
      </div>
      {error && <p className="error">{error}</p>}
    </section>
  );
}

function shortAgent(ua: string | null): string {
  if (!ua) return '—';
  const m = /(Firefox|Edg|Chrome|Chromium|HeadlessChrome|Safari|node|curl)\/[\d.]+/i.exec(ua);
  return m ? m[0] : ua.slice(0, 40);
}
