/**
 * The mails the API sends. A queued mail stores only its template's name and
 * parameters (encrypted); it is rendered when it is sent, with the APP_URL of
 * the sending instance. The plain-text part carries the link on a line of its
 * own (docs/api.md: the plain-text part of each mail contains its link).
 */

/** The parameters of every template: the link's token and when the link stops working. */
export interface LinkMailParams {
  token: string;
  /** ISO-8601. */
  expiresAt: string;
}

export const TEMPLATES = {
  'verify-email': {
    path: 'verify-email',
    subject: 'Confirm your email address',
    intro: 'Someone (hopefully you) created an account with this email address.',
    action: 'Confirm the address',
    outro:
      'If you did not create an account, ignore this mail: nothing happens until the link is opened and confirmed.',
  },
  'reset-password': {
    path: 'reset-password',
    subject: 'Reset your password',
    intro:
      'Someone (hopefully you) asked to reset the password of the account with this email address.',
    action: 'Choose a new password',
    outro:
      'If you did not ask for this, ignore this mail: your password stays as it is. Setting a new password ends every session of the account.',
  },
} as const;

export type TemplateName = keyof typeof TEMPLATES;

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATES, name);
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * `{appUrl}/{path}?token=<token>`. APP_URL may carry a path of its own
 * (https://example.com/app): the page's path is appended to it.
 */
export function linkFor(appUrl: string, template: TemplateName, token: string): string {
  const base = new URL(appUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const url = new URL(TEMPLATES[template].path, base);
  url.searchParams.set('token', token);
  return url.toString();
}

export function render(appUrl: string, template: TemplateName, p: LinkMailParams): RenderedMail {
  const t = TEMPLATES[template];
  const link = linkFor(appUrl, template, p.token);
  const until = new Date(p.expiresAt).toUTCString();
  const text = [
    t.intro,
    '',
    `${t.action}:`,
    link,
    '',
    `The link works once, until ${until}.`,
    '',
    t.outro,
    '',
  ].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>${escapeHtml(t.intro)}</p>
<p><a href="${escapeHtml(link)}">${escapeHtml(t.action)}</a></p>
<p>Or copy this link into your browser:<br><code>${escapeHtml(link)}</code></p>
<p>The link works once, until ${escapeHtml(until)}.</p>
<p style="color: #555">${escapeHtml(t.outro)}</p>
</body></html>
`;
  return { subject: t.subject, text, html };
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
