/* The ncursesw calls the menu needs, as plain functions (Swift cannot use the curses
 * macros or its globals directly). Text is UTF-8; the locale is set from the
 * environment in kx_ui_start. */
#ifndef CCURSES_H
#define CCURSES_H

/* Keys kx_ui_key returns besides characters (which are Unicode scalars). */
enum {
    KX_KEY_NONE = -1,
    KX_KEY_UP = 0x110000, KX_KEY_DOWN, KX_KEY_LEFT, KX_KEY_RIGHT,
    KX_KEY_PGUP, KX_KEY_PGDN, KX_KEY_HOME, KX_KEY_END,
    KX_KEY_BACKSPACE, KX_KEY_DELETE, KX_KEY_ENTER, KX_KEY_RESIZE, KX_KEY_TAB_BACK,
    KX_KEY_OTHER
};

/* Attributes for kx_ui_put. */
enum { KX_ATTR_NORMAL = 0, KX_ATTR_REVERSE = 1, KX_ATTR_BOLD = 2, KX_ATTR_DIM = 4 };

/* Starts curses on the terminal (cbreak, no echo, keypad, hidden cursor). Returns 0, or
 * -1 when the terminal cannot be used. escdelay_ms: how long an ESC waits for the rest of
 * an escape sequence (slow serial lines need more than the default). */
int kx_ui_start(int escdelay_ms);
void kx_ui_end(void);
void kx_ui_size(int *rows, int *cols);
/* Writes text at row/col, clipped to the screen, then clears to the end of the line when
 * clear_eol is set. */
void kx_ui_put(int row, int col, const char *utf8, int attrs, int clear_eol);
void kx_ui_clear(void);
void kx_ui_cursor(int row, int col, int visible);
void kx_ui_refresh(void);
/* Forces the next refresh to repaint everything (after a resize). */
void kx_ui_touch(void);
/* The next key within timeout_ms (0: only what is waiting), KX_KEY_NONE when none. */
int kx_ui_key(int timeout_ms);

#endif
