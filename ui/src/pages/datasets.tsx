import { type FormEvent, Fragment, useId, useState } from 'react';
import { ApiError, api } from '../api';
import { useCan } from '../auth';
import { DatasetPartitions } from '../components/dataset-partitions';
import { Button, Empty, ErrorBox, Loading, PageHeader, Time } from '../components/ui';
import { count } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { setQuery, useLocation, useTitle } from '../router';
import type { DatasetPartition, DatasetSummary, ScheduleRecord } from '../types';

type Issue = { path: string; message: string };

export function DatasetsPage() {
  useTitle('Datasets');
  const canOperate = useCan('operator');
  const { query } = useLocation();
  const open = new Set(query.getAll('open'));
  const [tick, setTick] = useState(0);
  const datasets = useApi(
    (signal) => api.get<{ datasets: DatasetSummary[] }>('/datasets', undefined, signal),
    'datasets',
  );
  const schedules = useApi(
    (signal) =>
      api.get<{ schedules: ScheduleRecord[] }>('/schedules', { triggerType: 'datasets', limit: 500 }, signal),
    'dataset-schedules',
  );
  const refresh = () => {
    datasets.reload();
    schedules.reload();
    setTick((t) => t + 1);
  };
  useLiveRefresh(refresh, { minMs: 2000, everyMs: 15_000 });

  const waiting = (name: string) =>
    (schedules.data?.schedules ?? []).filter(
      (s) => s.trigger.type === 'datasets' && s.trigger.datasets.includes(name),
    );
  const toggle = (name: string) => {
    const q = new URLSearchParams(query);
    q.delete('open');
    const next = new Set(open);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    for (const n of next) q.append('open', n);
    setQuery(q);
  };
  const list = datasets.data?.datasets ?? [];

  return (
    <>
      <PageHeader title="Datasets" />
      {canOperate && <MarkPartition known={list.map((d) => d.name)} onMarked={refresh} />}
      <ErrorBox error={datasets.error} title="Could not read the datasets" />
      <ErrorBox error={schedules.error} title="Could not read the schedules waiting on datasets" />
      {datasets.loading && !datasets.data && <Loading label="Loading datasets" />}
      {datasets.data && list.length === 0 && (
        <Empty>
          No dataset has a partition yet. Mark one above, with <code>stint datasets mark</code> or with{' '}
          <code>client.markAvailable(dataset, partition)</code>.
        </Empty>
      )}
      {list.length > 0 && (
        <div className="table-wrap">
          <table className="datasets-table">
            <thead>
              <tr>
                <th>Dataset</th>
                <th className="num">Partitions</th>
                <th>Last marked</th>
                <th>Schedules waiting</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => {
                const expanded = open.has(d.name);
                const those = waiting(d.name);
                return (
                  <Fragment key={d.name}>
                    <tr className={expanded ? 'selected' : undefined}>
                      <td>
                        <button
                          type="button"
                          className="dataset-expander"
                          aria-expanded={expanded}
                          aria-controls={`dataset-${d.name}`}
                          onClick={() => toggle(d.name)}
                        >
                          <span aria-hidden="true">{expanded ? '▾' : '▸'}</span> {d.name}
                        </button>
                      </td>
                      <td className="num">{count(d.partitions)}</td>
                      <td>
                        <Time at={d.lastMarkedAt} />
                      </td>
                      <td className="wrap">
                        {those.length === 0 ? (
                          <span className="muted">none</span>
                        ) : (
                          those.map((s) => s.name).join(', ')
                        )}
                      </td>
                    </tr>
                    {expanded && (
                      <tr className="dataset-expanded" id={`dataset-${d.name}`}>
                        <td colSpan={4}>
                          <DatasetPartitions dataset={d.name} schedules={those} tick={tick} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** "Mark partition available": dataset, partition and optional JSON metadata. */
function MarkPartition({ known, onMarked }: { known: string[]; onMarked: () => void }) {
  const id = useId();
  const [dataset, setDataset] = useState('');
  const [partition, setPartition] = useState('');
  const [metadata, setMetadata] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const issues = (error?.details.issues as Issue[] | undefined) ?? [];
  const fieldError = (path: string) =>
    issues.find(
      (i) => i.path === path || i.path.startsWith(`${path}.`) || (path === 'dataset' && i.path === 'name'),
    )?.message ?? (path === 'metadata' && error?.code === 'CLIENT' ? error.message : undefined);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setNote(null);
    let meta: unknown;
    if (metadata.trim() !== '') {
      try {
        meta = JSON.parse(metadata);
      } catch (err) {
        setError(new ApiError(0, 'CLIENT', `metadata is not valid JSON: ${(err as Error).message}`));
        return;
      }
    }
    setBusy(true);
    api
      .post<{ created: boolean; partition: DatasetPartition }>(
        `/datasets/${encodeURIComponent(dataset.trim())}/partitions`,
        {
          partition: partition.trim(),
          ...(meta !== undefined ? { metadata: meta } : {}),
        },
      )
      .then(
        (r) => {
          setBusy(false);
          setNote(
            r.created
              ? `Marked ${r.partition.dataset} ${r.partition.partition} available.`
              : `${r.partition.dataset} ${r.partition.partition} was already available: nothing changed.`,
          );
          setPartition('');
          setMetadata('');
          onMarked();
        },
        (err: unknown) => {
          setBusy(false);
          setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
        },
      );
  };
  const field = (
    label: string,
    path: string,
    value: string,
    set: (v: string) => void,
    extra: object = {},
  ) => {
    const err = fieldError(path);
    return (
      <label>
        {label}
        <input
          value={value}
          onChange={(e) => set(e.target.value)}
          aria-invalid={err ? true : undefined}
          spellCheck={false}
          {...extra}
        />
        {err && <span className="field-error">{err}</span>}
      </label>
    );
  };
  return (
    <section className="card dataset-mark" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Mark partition available</h2>
      <form className="filters" onSubmit={submit}>
        {field('Dataset', 'dataset', dataset, setDataset, {
          list: `${id}-known`,
          required: true,
          placeholder: 'raw_events',
        })}
        <datalist id={`${id}-known`}>
          {known.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        {field('Partition', 'partition', partition, setPartition, {
          required: true,
          placeholder: '2026-11-22',
        })}
        {field('Metadata (JSON, optional)', 'metadata', metadata, setMetadata, {
          placeholder: '{"rows": 1200}',
          className: 'mono',
        })}
        <Button
          type="submit"
          variant="primary"
          disabled={busy || dataset.trim() === '' || partition.trim() === ''}
        >
          Mark available
        </Button>
      </form>
      {note && (
        <p className="small" role="status">
          {note}
        </p>
      )}
      {error && issues.length === 0 && error.code !== 'CLIENT' && (
        <ErrorBox error={error} title="Not marked" />
      )}
    </section>
  );
}
