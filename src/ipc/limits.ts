/**
 * The numbers that bound what one IPC peer can make the other do. They are checked before the
 * work they bound (length before allocation, pointers before decoding), never after.
 *
 * @module
 */

/** Largest frame body accepted (the 4-byte length prefix excluded): 16 MiB. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Deepest pointer nesting accepted in a message (Cap'n Proto's own default is 64). */
export const MAX_NESTING_DEPTH = 64;

/** Most segments a frame may declare; honest frames from capnp-es use a handful. */
export const MAX_SEGMENTS = 64;

/**
 * Words the validator may visit per word of message, plus a small constant. An honest message
 * visits every word at most once, so a ratio above 1 only happens when pointers share targets
 * (amplification) or zero-sized elements are counted; 2 leaves room and still bounds the work.
 */
export const TRAVERSAL_RATIO = 2;
/** The constant part of the traversal budget, in words. */
export const TRAVERSAL_SLACK_WORDS = 64;

/** Longest identifier-like text field (ids, names, channel, adapterId), in UTF-8 bytes. */
export const MAX_ID_BYTES = 1024;
/** Longest message text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** Most attachments in one message. */
export const MAX_ATTACHMENTS = 32;
/** Most metadata entries in one message. */
export const MAX_METADATA = 64;
