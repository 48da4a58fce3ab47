import '@xyflow/react/dist/style.css';
import dagre from '@dagrejs/dagre';
import {
  Controls,
  type Edge,
  Handle,
  MarkerType,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
} from '@xyflow/react';
import { type KeyboardEvent, type MouseEvent, useMemo } from 'react';
import { Link, navigate } from '../router';
import type { FlowStepRecord } from '../types';
import { StateBadge } from './ui';

/**
 * A flow's steps as a left-to-right graph: an edge per dependency, each node coloured by its state.
 * A map step holds its items as small linked chips when they are few, else a per-state tally.
 * Clicking a node (or Enter on a focused one) opens its job.
 */

/** A map shows its items one by one up to this many. */
export const MAX_ITEM_CHIPS = 12;
const NODE_W = 230;
const CHIPS_PER_ROW = 6;

type StepNodeData = {
  step: FlowStepRecord;
  items: FlowStepRecord[];
  flowId: string;
};
type StepNode = Node<StepNodeData, 'step'>;

function nodeHeight(step: FlowStepRecord, items: FlowStepRecord[]): number {
  let h = 70;
  if (step.kind === 'map')
    h +=
      items.length > 0 && items.length <= MAX_ITEM_CHIPS
        ? Math.ceil(items.length / CHIPS_PER_ROW) * 28 + 4
        : 22;
  if (step.revertJobId) h += 22;
  if (step.revertError) h += 36;
  return h;
}

export function layoutFlow(
  steps: FlowStepRecord[],
  flowId: string,
): { nodes: StepNode[]; edges: Edge[]; height: number } {
  const top = steps.filter((s) => s.kind !== 'item');
  const itemsOf = new Map<string, FlowStepRecord[]>();
  for (const s of steps) {
    if (s.kind !== 'item' || !s.parent) continue;
    const list = itemsOf.get(s.parent) ?? [];
    list.push(s);
    itemsOf.set(s.parent, list);
  }
  const names = new Set(top.map((s) => s.name));
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 64, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of top) {
    const items = (itemsOf.get(s.name) ?? []).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    g.setNode(s.name, { width: NODE_W, height: nodeHeight(s, items) });
  }
  const edges: Edge[] = [];
  for (const s of top)
    for (const dep of s.deps) {
      if (!names.has(dep)) continue;
      g.setEdge(dep, s.name);
      const live = s.state === 'running' || s.state === 'pending';
      edges.push({
        id: `${dep}->${s.name}`,
        source: dep,
        target: s.name,
        animated: live,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        focusable: false,
      });
    }
  dagre.layout(g);
  const nodes: StepNode[] = top.map((s) => {
    const { x, y, width, height } = g.node(s.name);
    return {
      id: s.name,
      type: 'step',
      position: { x: x - width / 2, y: y - height / 2 },
      data: { step: s, items: itemsOf.get(s.name) ?? [], flowId },
      ariaLabel: `step ${s.name}: ${s.state.replace(/_/g, ' ')}`,
      draggable: false,
      connectable: false,
      width,
      height,
      className: 'flow-node-wrap',
    };
  });
  return { nodes, edges, height: g.graph().height ?? 200 };
}

function StepNodeView({ data }: NodeProps<StepNode>) {
  const { step, items } = data;
  const stop = (e: MouseEvent) => e.stopPropagation();
  const reverted = step.state === 'reverted' || step.state === 'revert_failed' || step.state === 'reverting';
  return (
    <div className={`flow-node ${reverted ? 'reverted' : ''}`} data-state={step.state}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="flow-node-head">
        <strong className="flow-node-name" title={step.name}>
          {step.name}
        </strong>
        <StateBadge state={step.state} />
      </div>
      <div className="flow-node-task muted small" title={step.task}>
        {step.task}
        {step.kind === 'map' && step.items && (
          <span className="flow-node-count">
            {' '}
            · {step.items.done}/{step.items.total}
          </span>
        )}
        {step.jobState && step.jobState !== step.state && <span> · job {step.jobState}</span>}
      </div>
      {step.kind === 'map' &&
        (items.length > 0 && items.length <= MAX_ITEM_CHIPS ? (
          <div className="flow-node-items">
            {items.map((item) =>
              item.jobId ? (
                <Link
                  key={item.name}
                  to={`/jobs/${item.jobId}`}
                  className="flow-item nodrag nopan"
                  data-state={item.state}
                  aria-label={`step ${item.name}: ${item.state.replace(/_/g, ' ')}`}
                  title={`${item.name}: ${item.state}`}
                  onClick={stop}
                >
                  {item.index}
                </Link>
              ) : (
                <span
                  key={item.name}
                  className="flow-item"
                  data-state={item.state}
                  role="img"
                  aria-label={`step ${item.name}: ${item.state.replace(/_/g, ' ')}`}
                  title={`${item.name}: ${item.state}`}
                >
                  {item.index}
                </span>
              ),
            )}
          </div>
        ) : (
          <ItemTally items={items} />
        ))}
      {step.revertJobId && (
        <div className="small">
          <Link to={`/jobs/${step.revertJobId}`} className="nodrag nopan" onClick={stop}>
            revert job
          </Link>
        </div>
      )}
      {step.revertError && (
        <div className="flow-node-error small" title={step.revertError.message}>
          revert failed: {step.revertError.message}
        </div>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

function ItemTally({ items }: { items: FlowStepRecord[] }) {
  if (items.length === 0) return <div className="muted small">no items yet</div>;
  const by = new Map<string, number>();
  for (const i of items) by.set(i.state, (by.get(i.state) ?? 0) + 1);
  return (
    <div className="flow-node-tally small">
      {[...by.entries()].map(([state, n]) => (
        <span key={state} className={`state-${state}`}>
          {n} {state.replace(/_/g, ' ')}
        </span>
      ))}
    </div>
  );
}

const NODE_TYPES = { step: StepNodeView };

function open(step: FlowStepRecord, flowId: string): void {
  if (step.jobId) navigate(`/jobs/${step.jobId}`);
  else if (step.kind === 'map') navigate(`/jobs?flow=${encodeURIComponent(flowId)}`);
}

export default function FlowGraph({ steps, flowId }: { steps: FlowStepRecord[]; flowId: string }) {
  const { nodes, edges, height } = useMemo(() => layoutFlow(steps, flowId), [steps, flowId]);
  const byName = useMemo(() => new Map(steps.map((s) => [s.name, s])), [steps]);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== 'Enter') return;
    const el = (event.target as HTMLElement).closest<HTMLElement>('.react-flow__node');
    const step = el?.dataset.id ? byName.get(el.dataset.id) : undefined;
    if (step && el === event.target) open(step, flowId);
  };
  const box = Math.min(560, Math.max(220, height + 48));
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Enter on a focused node (a React Flow element) opens its job
    <div className="flow-graph" style={{ height: box }} onKeyDown={onKeyDown}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodeClick={(_e, node) => open((node as StepNode).data.step, flowId)}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        fitView
        fitViewOptions={{ padding: 0.12, maxZoom: 1 }}
        minZoom={0.2}
        maxZoom={2}
        zoomOnScroll={false}
        preventScrolling={false}
        colorMode="system"
        ariaLabelConfig={{ 'node.a11yDescription.default': 'Press Enter to open the job of this step.' }}
      >
        <Controls showInteractive={false} aria-label="graph controls" />
      </ReactFlow>
    </div>
  );
}
