import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { ApiError, api } from '../api';
import type { Trigger } from '../types';
import { FireTimes, shortDuration } from './schedule-parts';
import { fromLocalInput, toLocalInput } from './schema-form';

export type TriggerKind = 'cron' | 'every' | 'once' | 'datasets' | 'continuous';

/** The trigger fields as the form holds them (text, as typed). */
export interface TriggerForm {
  kind: TriggerKind;
  cron: string;
  timezone: string;
  every: string;
  /** datetime-local text; empty = the Unix epoch (aligned to the clock). */
  reference: string;
  once: string;
  datasets: string;
  backoff: string;
  maxBackoff: string;
}

export const browserTimezone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export function emptyTrigger(): TriggerForm {
  return {
    kind: 'cron',
    cron: '0 2 * * *',
    timezone: browserTimezone(),
    every: '15m',
    reference: '',
    once: '',
    datasets: '',
    backoff: '1s',
    maxBackoff: '5m',
  };
}

/** A stored trigger back into the form's fields. */
export function triggerForm(trigger: Trigger): TriggerForm {
  const form = emptyTrigger();
  switch (trigger.type) {
    case 'cron':
      return { ...form, kind: 'cron', cron: trigger.expression, timezone: trigger.timezone };
    case 'interval':
      return {
        ...form,
        kind: 'every',
        every: shortDuration(trigger.everyMs),
        reference: trigger.referenceMs === 0 ? '' : toLocalInput(trigger.referenceMs),
      };
    case 'once':
      return { ...form, kind: 'once', once: toLocalInput(trigger.atMs) };
    case 'datasets':
      return { ...form, kind: 'datasets', datasets: trigger.datasets.join(', ') };
    case 'continuous':
      return {
        ...form,
        kind: 'continuous',
        backoff: shortDuration(trigger.backoffMs),
        maxBackoff: shortDuration(trigger.maxBackoffMs),
      };
  }
}

/** The trigger as the API takes it (`{ cron, timezone }`, `{ every, reference }`, …). */
export function triggerSpec(f: TriggerForm): Record<string, unknown> {
  switch (f.kind) {
    case 'cron':
      return { cron: f.cron.trim(), timezone: f.timezone };
    case 'every': {
      const reference = fromLocalInput(f.reference);
      return { every: f.every.trim(), ...(reference ? { reference } : {}) };
    }
    case 'once':
      return { once: fromLocalInput(f.once) ?? f.once };
    case 'datasets':
      return {
        datasets: f.datasets
          .split(/[\s,]+/)
          .map((d) => d.trim())
          .filter((d) => d !== ''),
      };
    case 'continuous':
      return { continuous: true, backoff: f.backoff.trim(), maxBackoff: f.maxBackoff.trim() };
  }
}

const KINDS: { value: TriggerKind; label: string }[] = [
  { value: 'cron', label: 'Cron expression, in a time zone' },
  { value: 'every', label: 'Every interval, aligned to a reference time' },
  { value: 'once', label: 'Once, at a time' },
  { value: 'datasets', label: 'When datasets have a partition' },
  { value: 'continuous', label: 'Continuously (restart when a run ends)' },
];

function timezones(): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const own = browserTimezone();
  return ['UTC', ...new Set([own, ...all])].filter((z, i, list) => list.indexOf(z) === i);
}

type Preview = { times: number[]; error: null } | { times: null; error: ApiError };
const PREVIEW_DELAY_MS = 350;

/** The next 5 fire times of the trigger being typed, read from the server after a pause in typing. */
function usePreview(spec: Record<string, unknown>, enabled: boolean): Preview | null {
  const [preview, setPreview] = useState<Preview | null>(null);
  const seq = useRef(0);
  const key = JSON.stringify(spec);
  useEffect(() => {
    const mine = ++seq.current;
    if (!enabled) {
      setPreview(null);
      return;
    }
    const timer = setTimeout(() => {
      api.post<{ fireTimes: number[] }>('/schedules/preview', { trigger: JSON.parse(key), count: 5 }).then(
        (r) => {
          if (mine === seq.current) setPreview({ times: r.fireTimes, error: null });
        },
        (err: unknown) => {
          if (mine === seq.current)
            setPreview({
              times: null,
              error: err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)),
            });
        },
      );
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [key, enabled]);
  return preview;
}

/**
 * The trigger part of the schedule form: the kind, its fields, and (for time triggers) a live preview
 * of the next fire times; an expression the server refuses is marked on its field with its message.
 */
export function TriggerFields({
  value,
  onChange,
  errors,
}: {
  value: TriggerForm;
  onChange: (value: TriggerForm) => void;
  /** Submit errors by path (`trigger.cron`). */
  errors: Record<string, string>;
}) {
  const id = useId();
  const spec = useMemo(() => triggerSpec(value), [value]);
  const timed = value.kind === 'cron' || value.kind === 'every' || value.kind === 'once';
  const preview = usePreview(spec, timed);
  const zones = useMemo(timezones, []);
  const previewIssues =
    (preview?.error?.details.issues as { path: string; message: string }[] | undefined) ?? [];
  const errorAt = (path: string): string | undefined =>
    previewIssues.find((i) => i.path === path || i.path.startsWith(`${path}.`))?.message ??
    Object.entries(errors).find(([p]) => p === path || p.startsWith(`${path}.`))?.[1];
  const set = (patch: Partial<TriggerForm>) => onChange({ ...value, ...patch });

  const text = (label: string, field: keyof TriggerForm, path: string, hint?: string, type = 'text') => {
    const error = errorAt(path);
    const fid = `${id}-${field}`;
    return (
      <div className="schema-field">
        <label htmlFor={fid}>{label}</label>
        <input
          id={fid}
          type={type}
          value={value[field]}
          onChange={(e) => set({ [field]: e.target.value })}
          aria-invalid={error ? true : undefined}
          aria-describedby={
            [hint ? `${fid}-hint` : '', error ? `${fid}-error` : ''].filter(Boolean).join(' ') || undefined
          }
          spellCheck={false}
          autoComplete="off"
          className={field === 'cron' ? 'mono' : undefined}
        />
        {hint && (
          <span className="schema-hint" id={`${fid}-hint`}>
            {hint}
          </span>
        )}
        {error && (
          <span className="field-error" id={`${fid}-error`}>
            {error}
          </span>
        )}
      </div>
    );
  };
  const otherError = previewIssues.find(
    (i) =>
      !['trigger.cron', 'trigger.timezone', 'trigger.every', 'trigger.reference', 'trigger.once'].includes(
        i.path,
      ),
  );

  return (
    <fieldset className="schedule-trigger">
      <legend>Trigger</legend>
      <div className="schema-field">
        <label htmlFor={`${id}-kind`}>Trigger kind</label>
        <select
          id={`${id}-kind`}
          value={value.kind}
          onChange={(e) => set({ kind: e.target.value as TriggerKind })}
        >
          {KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
      </div>
      {value.kind === 'cron' && (
        <div className="schedule-row">
          {text(
            'Cron expression',
            'cron',
            'trigger.cron',
            '5 fields (minute hour day month weekday) or 6 (seconds first); L, W and # work',
          )}
          <div className="schema-field">
            <label htmlFor={`${id}-tz`}>Time zone</label>
            <select
              id={`${id}-tz`}
              value={value.timezone}
              onChange={(e) => set({ timezone: e.target.value })}
              aria-invalid={errorAt('trigger.timezone') ? true : undefined}
            >
              {(zones.includes(value.timezone) ? zones : [value.timezone, ...zones]).map((z) => (
                <option key={z}>{z}</option>
              ))}
            </select>
            {errorAt('trigger.timezone') && (
              <span className="field-error">{errorAt('trigger.timezone')}</span>
            )}
          </div>
        </div>
      )}
      {value.kind === 'every' && (
        <div className="schedule-row">
          {text('Every', 'every', 'trigger.every', 'a duration: 30s, 15m, 2h, 1d (at least 1s)')}
          {text(
            'Reference',
            'reference',
            'trigger.reference',
            'fires at reference + k × every (your local time); empty: aligned to the clock, UTC',
            'datetime-local',
          )}
        </div>
      )}
      {value.kind === 'once' && text('Once at', 'once', 'trigger.once', 'your local time', 'datetime-local')}
      {value.kind === 'datasets' &&
        text(
          'Datasets',
          'datasets',
          'trigger.datasets',
          'dataset names, comma separated: fires once per partition all of them have',
        )}
      {value.kind === 'continuous' && (
        <div className="schedule-row">
          {text('Backoff', 'backoff', 'trigger.backoff', 'wait after a run ends')}
          {text(
            'Max backoff',
            'maxBackoff',
            'trigger.maxBackoff',
            'doubling up to this while runs end quickly',
          )}
        </div>
      )}
      {timed && (
        <div className="schedule-preview" aria-live="polite">
          <h3>Next fire times</h3>
          {preview === null && <p className="muted small">…</p>}
          {preview?.times && <FireTimes times={preview.times} empty="This trigger fires no more." />}
          {preview?.error && !previewIssues.length && <p className="field-error">{preview.error.message}</p>}
          {otherError && <p className="field-error">{otherError.message}</p>}
          {preview?.error && <p className="muted small">Fix the trigger to see its next fire times.</p>}
        </div>
      )}
    </fieldset>
  );
}
