/** The pure protocol core: bytes in, events out. Nothing here does IO. */
export * from './constants.js';
export * from './violations.js';
export * from './frame-header.js';
export * from './frame-parser.js';
export * from './frame-writer.js';
export * from './mask.js';
export * from './close-codes.js';
export * from './utf8-validator.js';
export * from './handshake.js';
export * from './deflate-params.js';
