import {
  type ButtonHTMLAttributes,
  type KeyboardEvent,
  type ReactNode,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import type { ApiError } from '../api';
import { duration, exactTime, relativeTime } from '../format';
import { useNow } from '../hooks';

/** A time shown relative ("3m ago"), with the exact time on hover and for screen readers. */
export function Time({ at, fallback = '—' }: { at: number | null | undefined; fallback?: string }) {
  const now = useNow();
  if (at === null || at === undefined) return <span className="muted">{fallback}</span>;
  const exact = exactTime(at);
  return (
    <time dateTime={new Date(at).toISOString()} title={exact}>
      {/* `now` only re-renders; reading the clock here keeps a fresh time from showing "in 10s" */}
      {relativeTime(at, Math.max(now, Date.now()))}
      <span className="sr-only"> ({exact})</span>
    </time>
  );
}

/** A duration between two times, or running until now when `to` is missing. */
export function Elapsed({ from, to }: { from: number | null | undefined; to?: number | null }) {
  const now = useNow(1000);
  if (from === null || from === undefined) return <span className="muted">—</span>;
  const end = to ?? now;
  return <span title={`${end - from} ms`}>{duration(end - from)}</span>;
}

/** An id with a copy button. */
export function CopyId({ id, label = 'id' }: { id: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    navigator.clipboard?.writeText(id).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1200);
      },
      () => setCopied(false),
    );
  };
  return (
    <span className="copy-id">
      <code>{id}</code>
      <button type="button" className="icon-button" onClick={copy} aria-label={`copy ${label} ${id}`}>
        {copied ? (
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
        ) : (
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <rect
              x="5"
              y="5"
              width="9"
              height="9"
              rx="1.5"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.5"
            />
            <path
              d="M11 3.5V3a1 1 0 0 0-1-1H3a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h.5"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.5"
            />
          </svg>
        )}
      </button>
    </span>
  );
}

/** A job, flow, step, schedule or worker state as a coloured badge. */
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state.replace(/_/g, ' ')}</span>;
}

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'danger' | 'plain' };

export function Button({ variant = 'plain', className, type = 'button', ...rest }: ButtonProps) {
  return <button type={type} className={`button ${variant} ${className ?? ''}`} {...rest} />;
}

export function ErrorBox({ error, title }: { error: ApiError | Error | null; title?: string }) {
  if (!error) return null;
  const code = 'code' in error ? (error as ApiError).code : null;
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <div>
        {code && <code>{code}</code>} {error.message}
      </div>
    </div>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      {label}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </header>
  );
}

/** A progress bar with its label; `total` null shows an indeterminate bar. */
export function Progress({ done, total, label }: { done: number; total: number | null; label?: string }) {
  const pct = total ? Math.min(100, Math.round((done / total) * 100)) : null;
  return (
    <div className="progress">
      <progress
        className="sr-only"
        max={total ?? undefined}
        value={total ? done : undefined}
        aria-label={label ?? 'progress'}
      />
      <div className="progress-track" aria-hidden="true">
        <div
          className={`progress-fill ${pct === null ? 'indeterminate' : ''}`}
          style={{ width: `${pct ?? 100}%` }}
        />
      </div>
      <span className="progress-label">{total ? `${done} / ${total} (${pct}%)` : `${done}`}</span>
    </div>
  );
}

/** A usage bar: `used` of `total` (workers' capacity). */
export function UsageBar({ used, total, label }: { used: number; total: number; label: string }) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return (
    <div className="usage">
      <span className="usage-label">{label}</span>
      <meter className="sr-only" min={0} max={total} value={used} aria-label={label} />
      <div className="usage-track" aria-hidden="true">
        <div className={`usage-fill ${pct >= 90 ? 'high' : ''}`} style={{ width: `${pct}%` }} />
      </div>
      <span className="usage-value">
        {used} / {total}
      </span>
    </div>
  );
}

/** A stat card for the overview. */
export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}

/**
 * A modal dialog: focus moves into it and is kept there, Escape closes it, focus returns to where
 * it was. Uses the native <dialog> element.
 */
export function Dialog({
  open,
  title,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

/** Asks before doing something that cannot be undone. */
export function ConfirmButton({
  label,
  confirm,
  onConfirm,
  variant = 'danger',
  disabled,
}: {
  label: string;
  confirm: string;
  onConfirm: () => Promise<unknown>;
  variant?: 'primary' | 'danger' | 'plain';
  disabled?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = () => {
    setBusy(true);
    setError(null);
    onConfirm().then(
      () => {
        setBusy(false);
        setOpen(false);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
  return (
    <>
      <Button variant={variant} disabled={disabled} onClick={() => setOpen(true)}>
        {label}
      </Button>
      <Dialog open={open} title={label} onClose={() => setOpen(false)}>
        <p>{confirm}</p>
        <ErrorBox error={error} />
        <div className="dialog-actions">
          <Button onClick={() => setOpen(false)}>Keep</Button>
          <Button variant={variant} onClick={run} disabled={busy} autoFocus>
            {busy ? 'Working…' : label}
          </Button>
        </div>
      </Dialog>
    </>
  );
}

/**
 * Keyboard navigation for a table body: ArrowUp/ArrowDown (or j/k) move between rows, Home/End to
 * the first/last, Enter opens the focused row. Rows need `tabIndex={0}` and `data-row`.
 */
export function tableKeys(onOpen: (row: HTMLElement) => void) {
  return (event: KeyboardEvent<HTMLElement>) => {
    const target = event.target as HTMLElement;
    const row = target.closest<HTMLElement>('[data-row]');
    if (!row) return;
    const rows = Array.from(event.currentTarget.querySelectorAll<HTMLElement>('[data-row]'));
    const index = rows.indexOf(row);
    let next: HTMLElement | undefined;
    if (event.key === 'ArrowDown' || event.key === 'j') next = rows[index + 1];
    else if (event.key === 'ArrowUp' || event.key === 'k') next = rows[index - 1];
    else if (event.key === 'Home') next = rows[0];
    else if (event.key === 'End') next = rows[rows.length - 1];
    else if (event.key === 'Enter' && target === row) {
      event.preventDefault();
      onOpen(row);
      return;
    } else return;
    event.preventDefault();
    next?.focus();
  };
}

/** Pretty-printed JSON in a scrollable block. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <section aria-label={label}>
      <pre className="json">{value === undefined ? '—' : JSON.stringify(value, null, 2)}</pre>
    </section>
  );
}
