import { useState } from 'react';
import { api } from '../api';
import { useApi } from '../hooks';
import { Link } from '../router';
import type { DatasetPartition, ScheduleRecord, ScheduleRun } from '../types';
import { RunLink } from './schedule-parts';
import { Button, Empty, ErrorBox, Loading, StateBadge, Time } from './ui';

type Partition = DatasetPartition & { runs: ScheduleRun[] };
const PAGE = 50;

/** A dataset's partitions (newest mark first), each with the runs it triggered, and the schedules waiting on it. */
export function DatasetPartitions({
  dataset,
  schedules,
  tick,
}: {
  dataset: string;
  /** Schedules with a datasets trigger that lists this dataset. */
  schedules: ScheduleRecord[];
  /** Changes when the page refreshes. */
  tick: number;
}) {
  const [limit, setLimit] = useState(PAGE);
  const { data, error, loading } = useApi(
    (signal) =>
      api.get<{ partitions: Partition[]; nextCursor: string | null }>(
        `/datasets/${encodeURIComponent(dataset)}/partitions`,
        { limit },
        signal,
      ),
    `${dataset}|${limit}|${tick}`,
  );
  return (
    <div className="dataset-detail">
      <h3>Schedules waiting on {dataset}</h3>
      {schedules.length === 0 ? (
        <p className="muted small">
          No schedule has a datasets trigger with {dataset}. Create one with the trigger “When datasets have a
          partition”.
        </p>
      ) : (
        <ul className="dataset-schedules">
          {schedules.map((s) => (
            <li key={s.id}>
              <Link to={`/schedules/${encodeURIComponent(s.name)}`}>{s.name}</Link>{' '}
              <StateBadge state={s.state} />{' '}
              <span className="muted small">
                {s.trigger.type === 'datasets' && s.trigger.datasets.length > 1
                  ? `also needs ${s.trigger.datasets.filter((d) => d !== dataset).join(', ')}`
                  : 'needs only this dataset'}
                {' · '}fired {s.fireCount}×
              </span>
            </li>
          ))}
        </ul>
      )}
      <h3>Partitions</h3>
      <ErrorBox error={error} title="Could not read the partitions" />
      {loading && !data && <Loading label="Loading partitions" />}
      {data && data.partitions.length === 0 && <Empty>No partition marked.</Empty>}
      {data && data.partitions.length > 0 && (
        <div className="table-wrap schedule-flat">
          <table aria-label={`partitions of ${dataset}`}>
            <thead>
              <tr>
                <th>Partition</th>
                <th>Marked</th>
                <th>Metadata</th>
                <th>Runs it triggered</th>
              </tr>
            </thead>
            <tbody>
              {data.partitions.map((p) => (
                <tr key={p.partition}>
                  <td>
                    <code>{p.partition}</code>
                  </td>
                  <td>
                    <Time at={p.markedAt} />
                  </td>
                  <td className="wrap mono small">
                    {p.metadata ? JSON.stringify(p.metadata) : <span className="muted">—</span>}
                  </td>
                  <td className="wrap">
                    {p.runs.length === 0 ? (
                      <span className="muted small">
                        none{schedules.length > 0 ? ' yet (waiting for the other datasets?)' : ''}
                      </span>
                    ) : (
                      <ul className="dataset-runs">
                        {p.runs.map((r) => (
                          <li key={r.id}>
                            <Link to={`/schedules/${encodeURIComponent(r.scheduleName)}`}>
                              {r.scheduleName}
                            </Link>{' '}
                            <StateBadge state={r.state} /> <RunLink run={r} />
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data?.nextCursor && (
        <div className="schedule-pager">
          <Button onClick={() => setLimit((l) => Math.min(500, l + PAGE))} disabled={limit >= 500}>
            Show more partitions
          </Button>
        </div>
      )}
    </div>
  );
}
