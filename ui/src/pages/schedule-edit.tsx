import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { ApiError, api } from '../api';
import { useCan } from '../auth';
import { SelectField, TextField } from '../components/schedule-fields';
import { shortDuration } from '../components/schedule-parts';
import {
  emptyTrigger,
  TriggerFields,
  type TriggerForm,
  triggerForm,
  triggerSpec,
} from '../components/schedule-trigger';
import {
  formable,
  initialValue,
  type JsonSchema,
  missingRequired,
  SchemaForm,
} from '../components/schema-form';
import { Button, ErrorBox, JsonBlock, Loading, PageHeader } from '../components/ui';
import { useApi } from '../hooks';
import { Link, navigate, useTitle } from '../router';
import type { ScheduleRecord, TaskInfo } from '../types';

type Issue = { path: string; message: string };
type Obj = Record<string, unknown>;

const PLACEHOLDERS = ['{{ date }}', '{{ fireTime }}', '{{ partition }}', '{{ schedule }}'];
const MISFIRE = [
  ['fire_once', 'fire once: one run for the latest missed time'],
  ['skip', 'skip: none of the missed times run'],
  ['catch_up', 'catch up: one run per missed time'],
] as const;
const OVERLAP = [
  ['allow', 'allow: run anyway'],
  ['skip', 'skip: no run while the previous one is going'],
  ['queue', 'queue: wait for the previous run, then run'],
  ['cancel_previous', 'cancel previous: stop it, then run'],
] as const;

interface Form {
  name: string;
  description: string;
  task: string;
  input: Obj;
  json: boolean;
  jsonText: string;
  queue: string;
  priority: string;
  trigger: TriggerForm;
  misfire: string;
  misfireGrace: string;
  maxCatchUp: string;
  overlap: string;
  maxRuns: string;
  paused: boolean;
}

function emptyForm(): Form {
  return {
    name: '',
    description: '',
    task: '',
    input: {},
    json: false,
    jsonText: '{}',
    queue: '',
    priority: '',
    trigger: emptyTrigger(),
    misfire: 'fire_once',
    misfireGrace: '1m',
    maxCatchUp: '100',
    overlap: 'allow',
    maxRuns: '',
    paused: false,
  };
}

function formOf(s: ScheduleRecord): Form {
  const job = s.target.kind === 'job' ? s.target.job : null;
  const input = job && typeof job.input === 'object' && job.input !== null ? (job.input as Obj) : {};
  return {
    ...emptyForm(),
    name: s.name,
    description: s.description ?? '',
    task: job?.task ?? '',
    input,
    jsonText: JSON.stringify(job?.input ?? {}, null, 2),
    // An input that is not an object can only be edited as JSON.
    json: job !== null && (typeof job.input !== 'object' || job.input === null || Array.isArray(job.input)),
    queue: job?.queue ?? '',
    priority: job ? String(job.priority) : '',
    trigger: triggerForm(s.trigger),
    misfire: s.policies.misfire,
    misfireGrace: shortDuration(s.policies.misfireGraceMs),
    maxCatchUp: String(s.policies.maxCatchUp),
    overlap: s.policies.overlap,
    maxRuns: s.policies.maxRuns === null ? '' : String(s.policies.maxRuns),
  };
}

const asTasks = (r: { tasks: TaskInfo[] } | TaskInfo[]): TaskInfo[] => (Array.isArray(r) ? r : r.tasks);

export function ScheduleEditPage({ name }: { name: string | null }) {
  useTitle(name ? `Edit ${name}` : 'New schedule');
  const canEdit = useCan('operator');
  const path = name ? `/schedules/${encodeURIComponent(name)}` : null;
  const tasks = useApi(
    (signal) => api.get<{ tasks: TaskInfo[] } | TaskInfo[]>('/tasks', undefined, signal),
    'tasks',
  );
  const existing = useApi(
    (signal) => (path ? api.get<ScheduleRecord>(path, undefined, signal) : Promise.resolve(null)),
    path ?? 'new',
  );
  const original = existing.data ?? null;
  const [form, setForm] = useState<Form>(emptyForm);
  const [ready, setReady] = useState(name === null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});

  useEffect(() => {
    if (original && !ready) {
      setForm(formOf(original));
      setReady(true);
    }
  }, [original, ready]);

  const taskList = useMemo(() => (tasks.data ? asTasks(tasks.data) : []), [tasks.data]);
  const task = taskList.find((t) => t.name === form.task);
  const schema = task?.inputSchema && formable(task.inputSchema) ? (task.inputSchema as JsonSchema) : null;
  const isFlow = original?.target.kind === 'flow';
  const set = (patch: Partial<Form>) => setForm((f) => ({ ...f, ...patch }));

  const errors = useMemo(() => {
    const out: Record<string, string> = { ...local };
    for (const issue of (error?.details.issues as Issue[] | undefined) ?? [])
      out[issue.path || 'body'] ??= issue.message;
    return out;
  }, [error, local]);

  const pickTask = (taskName: string) => {
    const picked = taskList.find((t) => t.name === taskName);
    const start =
      picked?.inputSchema && formable(picked.inputSchema)
        ? initialValue(picked.inputSchema as JsonSchema)
        : {};
    set({ task: taskName, input: start, jsonText: JSON.stringify(start, null, 2), queue: '', priority: '' });
  };

  const toggleJson = (on: boolean) => {
    if (on) {
      set({ json: true, jsonText: JSON.stringify(form.input, null, 2) });
      return;
    }
    try {
      const parsed: unknown = JSON.parse(form.jsonText);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      set({ json: false, input: parsed as Obj });
      setLocal((l) => ({ ...l, input: '' }));
    } catch {
      setLocal((l) => ({ ...l, input: 'The form edits a JSON object: fix the JSON first.' }));
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problems: Record<string, string> = {};
    if (!name && form.name.trim() === '') problems.name = 'give the schedule a name';
    if (!isFlow && form.task === '') problems.task = 'pick the task each run submits';
    let input: unknown = form.input;
    if (form.json) {
      try {
        input = JSON.parse(form.jsonText);
      } catch (err) {
        problems.input = `not valid JSON: ${(err as Error).message}`;
      }
    }
    if (!isFlow && schema && problems.input === undefined)
      Object.assign(problems, missingRequired(schema, input));
    setLocal(problems);
    if (Object.keys(problems).length > 0) {
      setError(null);
      return;
    }
    const job: Obj = {};
    if (form.queue.trim() !== '' && form.queue !== task?.queue) job.queue = form.queue.trim();
    if (form.priority.trim() !== '') job.priority = Number(form.priority);
    const policies: Obj = {
      misfire: form.misfire,
      misfireGrace: form.misfireGrace.trim() || '1m',
      overlap: form.overlap,
      ...(form.maxCatchUp.trim() !== '' ? { maxCatchUp: Number(form.maxCatchUp) } : {}),
      ...(form.maxRuns.trim() !== '' ? { maxRuns: Number(form.maxRuns) } : {}),
    };
    const trigger = triggerSpec(form.trigger);
    let request: Promise<ScheduleRecord>;
    if (!original) {
      request = api.post<ScheduleRecord>('/schedules', {
        name: form.name.trim(),
        ...(form.description.trim() !== '' ? { description: form.description.trim() } : {}),
        task: form.task,
        input,
        ...(Object.keys(job).length > 0 ? { job } : {}),
        trigger,
        ...policies,
        paused: form.paused,
      });
    } else {
      const before = formOf(original);
      const changes: Obj = { ...policies };
      if (form.description !== before.description) changes.description = form.description;
      if (JSON.stringify(trigger) !== JSON.stringify(triggerSpec(before.trigger))) changes.trigger = trigger;
      const targetChanged =
        form.task !== before.task ||
        JSON.stringify(input) !==
          JSON.stringify(original.target.kind === 'job' ? original.target.job.input : null) ||
        form.queue !== before.queue ||
        form.priority !== before.priority;
      if (!isFlow && targetChanged) {
        changes.task = form.task;
        changes.input = input;
        // The job options are given again with the target (the server rebuilds it from the task).
        changes.job = { queue: form.queue.trim() || undefined, priority: Number(form.priority || 0) };
      }
      request = api.patch<ScheduleRecord>(path ?? '', changes);
    }
    setBusy(true);
    setError(null);
    request.then(
      (saved) => {
        setBusy(false);
        navigate(`/schedules/${encodeURIComponent(saved.name)}`);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      },
    );
  };

  const title = name ? `Edit schedule ${name}` : 'New schedule';
  if (!canEdit)
    return (
      <>
        <PageHeader title={title} />
        <ErrorBox error={new Error('Changing schedules needs the operator role.')} title="Not allowed" />
      </>
    );
  if (existing.error)
    return (
      <>
        <PageHeader title={title} />
        <ErrorBox error={existing.error} title="Could not read the schedule" />
        <Link to="/schedules">All schedules</Link>
      </>
    );
  if (!ready) return <Loading label="Loading the schedule" />;

  const issues = (error?.details.issues as Issue[] | undefined) ?? [];
  return (
    <>
      <PageHeader title={title} />
      <form className="stack schedule-form" onSubmit={submit} noValidate>
        {(error || Object.values(local).some(Boolean)) && (
          <div className="error-box" role="alert">
            <strong>{error ? 'The schedule was not saved' : 'Check the form'}</strong>
            {error && issues.length === 0 && (
              <div>
                <code>{error.code}</code> {error.message}
              </div>
            )}
            <ul className="schedule-issues">
              {issues.map((i) => (
                <li key={`${i.path}:${i.message}`}>
                  <code>{i.path || 'request'}</code>: {i.message}
                </li>
              ))}
              {Object.entries(local)
                .filter(([, m]) => m)
                .map(([p, m]) => (
                  <li key={p}>
                    <code>{p}</code>: {m}
                  </li>
                ))}
            </ul>
          </div>
        )}
        <fieldset>
          <legend>Schedule</legend>
          <TextField
            label="Name"
            value={form.name}
            onChange={(v) => set({ name: v })}
            error={errors.name}
            disabled={name !== null}
            hint={name ? 'a schedule keeps its name' : 'letters, digits and _ . : -'}
            required
          />
          <TextField
            label="Description"
            value={form.description}
            onChange={(v) => set({ description: v })}
            error={errors.description}
          />
        </fieldset>

        {isFlow && original?.target.kind === 'flow' ? (
          <fieldset>
            <legend>Flow</legend>
            <p className="muted small">
              This schedule runs a flow; change its flow with the API or the CLI. Its trigger and policies can
              be changed here.
            </p>
            <JsonBlock value={original.target.flow.spec} label="flow" />
          </fieldset>
        ) : (
          <fieldset>
            <legend>What each run does</legend>
            <SelectField label="Task" value={form.task} onChange={pickTask} error={errors.task} required>
              <option value="">{tasks.loading && !tasks.data ? 'loading tasks…' : 'choose a task…'}</option>
              {form.task !== '' && !task && <option value={form.task}>{form.task} (not registered)</option>}
              {taskList.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name}
                </option>
              ))}
            </SelectField>
            {tasks.error && <ErrorBox error={tasks.error} title="Could not read the registered tasks" />}
            {taskList.length === 0 && tasks.data && (
              <p className="muted small">
                No task is registered yet: start a worker with its tasks, then reload.
              </p>
            )}
            {task?.description && <p className="muted small">{task.description}</p>}
            {form.task !== '' && (
              <div className="schedule-input">
                <div className="schedule-input-head">
                  <h3>Input</h3>
                  {schema && (
                    <label className="inline">
                      <input
                        type="checkbox"
                        checked={form.json}
                        onChange={(e) => toggleJson(e.target.checked)}
                      />
                      Edit as JSON
                    </label>
                  )}
                </div>
                <p className="schema-hint">
                  Text may use placeholders, filled in per run:{' '}
                  {PLACEHOLDERS.map((p) => (
                    <code key={p}>{p} </code>
                  ))}
                </p>
                {schema && !form.json ? (
                  <SchemaForm
                    schema={schema}
                    value={form.input}
                    onChange={(input) => set({ input })}
                    errors={errors}
                    placeholders={PLACEHOLDERS}
                  />
                ) : (
                  <TextField
                    label="Input (JSON)"
                    value={form.jsonText}
                    onChange={(v) => set({ jsonText: v })}
                    error={errors.input}
                    multiline
                    hint={
                      schema ? undefined : 'this task has no published input schema: write its input as JSON'
                    }
                  />
                )}
                {!form.json && errors.input && <span className="field-error">{errors.input}</span>}
              </div>
            )}
            <div className="schedule-row">
              <TextField
                label="Queue"
                value={form.queue}
                onChange={(v) => set({ queue: v })}
                error={errors['job.queue']}
                hint={task ? `default: ${task.queue}` : undefined}
              />
              <TextField
                label="Priority"
                type="number"
                value={form.priority}
                onChange={(v) => set({ priority: v })}
                error={errors['job.priority']}
                hint={task ? `default: ${task.priority}` : undefined}
              />
            </div>
          </fieldset>
        )}

        <TriggerFields value={form.trigger} onChange={(trigger) => set({ trigger })} errors={errors} />

        <fieldset>
          <legend>Policies</legend>
          <div className="schedule-row">
            <SelectField
              label="Misfire"
              value={form.misfire}
              onChange={(v) => set({ misfire: v })}
              error={errors.misfire}
            >
              {MISFIRE.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </SelectField>
            <TextField
              label="Misfire grace"
              value={form.misfireGrace}
              onChange={(v) => set({ misfireGrace: v })}
              error={errors.misfireGrace}
              hint="later than this counts as missed"
            />
          </div>
          {form.misfire === 'catch_up' && (
            <TextField
              label="Max catch-up"
              type="number"
              value={form.maxCatchUp}
              onChange={(v) => set({ maxCatchUp: v })}
              error={errors.maxCatchUp}
              hint="at most this many missed times run (the latest)"
            />
          )}
          <SelectField
            label="Overlap"
            value={form.overlap}
            onChange={(v) => set({ overlap: v })}
            error={errors.overlap}
          >
            {OVERLAP.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </SelectField>
          <TextField
            label="Max runs"
            type="number"
            value={form.maxRuns}
            onChange={(v) => set({ maxRuns: v })}
            error={errors.maxRuns}
            hint={
              original && original.policies.maxRuns !== null
                ? 'complete after this many fire times (a limit, once set, can be changed but not removed here)'
                : 'complete after this many fire times; empty: forever'
            }
          />
          {!name && (
            <label className="inline">
              <input
                type="checkbox"
                checked={form.paused}
                onChange={(e) => set({ paused: e.target.checked })}
              />
              Start paused
            </label>
          )}
        </fieldset>
        <div className="schedule-form-actions">
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : name ? 'Save' : 'Create schedule'}
          </Button>
          <Button onClick={() => navigate(name ? `/schedules/${encodeURIComponent(name)}` : '/schedules')}>
            Cancel
          </Button>
        </div>
      </form>
    </>
  );
}
