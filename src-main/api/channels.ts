/** Names both ends of a transport agree on; a module of its own so the preload bundle stays tiny. */

/** Electron IPC: requests (invoke/handle) and events (main → renderer). */
export const IPC_CALL = 'subspace:call';
export const IPC_EVENT = 'subspace:event';

/** HTTP transport: POST `${HTTP_API_PREFIX}<method>`; events on the WebSocket at HTTP_EVENTS_PATH. */
export const HTTP_API_PREFIX = '/api/';
export const HTTP_EVENTS_PATH = '/events';
/** The session token travels in this header or in the `token` query parameter. */
export const TOKEN_HEADER = 'x-subspace-token';
export const TOKEN_QUERY = 'token';
