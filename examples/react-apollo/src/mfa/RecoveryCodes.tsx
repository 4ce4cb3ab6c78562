import { useState } from 'react';

/**
 * The recovery codes, shown once (the API never returns them again): a list,
 * Copy (the clipboard) and Download (a .txt file), and "I have saved them",
 * which hides them for good.
 */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const text =
    'Recovery codes for the Auth API example. Each one signs you in once, instead of a code ' +
    'from your authenticator app.\n\n' +
    codes.join('\n') +
    '\n';

  async function copy() {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('This browser did not allow copying; select the codes or download them.');
    }
  }

  function download() {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'recovery-codes.txt';
    document.body.append(a);
    a.click();
    a.remove();
    // Give the browser the time to start the download before the URL dies.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  return (
    <div data-testid="recovery-codes">
      <p className="warning" role="alert">
        Save these recovery codes now: they are shown only this once. Each one signs you in once if
        you lose your phone.
      </p>
      <ol className="codes">
        {codes.map((c) => (
          <li key={c}>
            <code data-testid="recovery-code">{c}</code>
          </li>
        ))}
      </ol>
      <div className="row">
        <button type="button" onClick={copy} data-testid="recovery-codes-copy">
          Copy
        </button>
        <button type="button" onClick={download} data-testid="recovery-codes-download">
          Download .txt
        </button>
        <button
          type="button"
          className="secondary"
          onClick={onDone}
          data-testid="recovery-codes-done"
        >
          I have saved them
        </button>
      </div>
      {copied && <p data-testid="recovery-codes-copied">{copied}</p>}
    </div>
  );
}
