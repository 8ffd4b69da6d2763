/**
 * @module tasks
 * Worker tasks as PVE has them: UPIDs, task logs under `<root>/tasks/`, their status, and the
 * in-process runner that the API uses for every asynchronous call.
 */

export { encodeUpid, decodeUpid, processStartTicks, type Upid } from './upid.js';
export { TaskStore, tasksDir, exitStatusOf, type TaskStatus, type TaskLogLine } from './store.js';
export { TaskRunner, oneLine, type TaskContext, type TaskSpec } from './runner.js';
export { recentTasks, MAX_RECENT_TASKS, type RecentTask } from './recent.js';
