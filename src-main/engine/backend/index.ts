/** The tensor backend layer: choose a backend once at start-up, and report why. */
export {
  BACKEND_NAMES,
  backendReport,
  classifyLoadError,
  formatBackendReport,
  initBackend,
  parseBackendName,
  resetBackendForTests,
  wasmDirCandidates,
} from './select.js';
export type { BackendName, BackendReason, BackendReport, InitBackendOptions } from './select.js';
export { wasmThreadChoice, wasmThreadCount } from './select.js';
export { installWasmKernels, setWasmKernelThreads, setWasmMatMulRoute, wasmKernelThreads, uninstallWasmKernels, wasmKernelStatus, wasmMatMulCounts } from './wasm-kernels.js';
export type { WasmKernelStatus, WasmMatMulCounts, WasmMatMulRoute } from './wasm-kernels.js';
