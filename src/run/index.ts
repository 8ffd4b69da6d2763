/**
 * @module run
 * Running VMs: start (spawn + QMP ready), stop ladder, guest shutdown/reboot, reset,
 * suspend/resume, status, runtime files and tap devices. The operations take a
 * `LifecycleContext` so the CLI, tests and benchmarks share one implementation.
 */

export { type LifecycleContext, type BuiltCommand, startTimeoutSec } from './context.js';
export { startVm, type StartOptions, type StartResult } from './start.js';
export { stopVm, shutdownVm, rebootVm, type StopOptions, type StopResult, type ShutdownOptions } from './stop.js';
export { resetVm, suspendVm, resumeVm, withRunningVm, type ControlOptions } from './control.js';
export { vmStatus, formatStatus, type VmStatus } from './status.js';
export { runtimePaths, runningPid, removeRuntimeFiles, pidfileArg, type RuntimePaths } from './runtime-files.js';
export { planTaps, tapsOf, tapPlanFor, createTaps, removeTaps, linkDownNics, type TapPlan } from './network.js';
export { hostNetTools, type NetTools, type NetTool } from './net-tools.js';
export { spawnDaemonizing, waitForQmp, qemuErrorText } from './spawn.js';
export { withVmRunLock, assertNotLocked } from './lock.js';
