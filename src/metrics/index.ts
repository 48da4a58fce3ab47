export {
  type JobLabels,
  type JobObserver,
  type JobOutcome,
  observeSubmissions,
  outcomeOf,
} from './observer.js';
export { createMetrics, type Metrics } from './registry.js';
