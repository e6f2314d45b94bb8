/**
 * The traffic simulator: deterministic, stateful shopping sessions, driven at a rate into the runtime
 * in-process or over HTTP.
 * @module
 */
export { type Product, rng, Simulator, type SimulatorOptions } from "./simulator.ts";
export { drive, type DriveOptions, type EventSource, httpSink } from "./drive.ts";
export { FRAUD_PATTERNS, type FraudPattern, type HistoryOptions, type Labels, simulateHistory } from "./history.ts";
