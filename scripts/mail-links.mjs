// `npm run mail:links`: the mails the server wrote to DATA_DIR/mail (development
// without SMTP_URL), newest last: when, to whom, subject, and the link each one
// carries, decoded from its quoted-printable plain-text part. Plain Node, no
// dependency, so it works on a fresh clone. `npm run mail:links -- 3` shows the
// last 3 only.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

if (existsSync('.env')) process.loadEnvFile('.env');
const dataDir = process.env.DATA_DIR || '.data';
const dir = join(isAbsolute(dataDir) ? dataDir : resolve(dataDir), 'mail');
const last = Number(process.argv[2]) || Infinity;

if (!existsSync(dir)) {
  console.log(
    `no mails yet: ${dir} does not exist (mails are written there when SMTP_URL is unset)`,
  );
  process.exit(0);
}

/** RFC 2045 quoted-printable: soft line breaks and =XX bytes (UTF-8). */
function decodeQp(s) {
  const bytes = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
  .slice(-last);

for (const file of files) {
  const raw = readFileSync(file, 'utf8');
  const header = (name) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1] ?? '';
  const body = decodeQp(raw);
  const links = [...new Set(body.match(/https?:\/\/[^\s"<>]+token=[A-Za-z0-9_-]+/g) ?? [])];
  console.log(`${header('Date')}  to ${header('To')}  "${header('Subject')}"`);
  for (const link of links) console.log(`  ${link}`);
  console.log(`  (${file})`);
}
if (files.length === 0) console.log(`no mails in ${dir}`);
