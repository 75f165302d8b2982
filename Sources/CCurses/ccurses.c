#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#define _DEFAULT_SOURCE 1
#include "ccurses.h"

#include <locale.h>
#include <ncursesw/curses.h>
#include <string.h>
#include <wchar.h>

static int started;

int kx_ui_start(int escdelay_ms) {
    /* UTF-8 titles need a UTF-8 locale; an initramfs often has LANG unset. */
    setlocale(LC_ALL, "");
    const char *ctype = setlocale(LC_CTYPE, NULL);
    if (ctype == NULL || (strstr(ctype, "UTF-8") == NULL && strstr(ctype, "utf8") == NULL)) {
        if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) setlocale(LC_CTYPE, "C.utf8");
    }
    if (started) return 0;
    if (initscr() == NULL) return -1;
    started = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(escdelay_ms);
    curs_set(0);
    /* A serial console's TERM is often not the terminal at the other end: know the
     * cursor and editing keys of vt100/vt220/linux/xterm whatever TERM says. */
    static const struct { const char *seq; int key; } extra[] = {
        {"\033[A", KEY_UP}, {"\033[B", KEY_DOWN}, {"\033[C", KEY_RIGHT}, {"\033[D", KEY_LEFT},
        {"\033OA", KEY_UP}, {"\033OB", KEY_DOWN}, {"\033OC", KEY_RIGHT}, {"\033OD", KEY_LEFT},
        {"\033[H", KEY_HOME}, {"\033[F", KEY_END}, {"\033OH", KEY_HOME}, {"\033OF", KEY_END},
        {"\033[1~", KEY_HOME}, {"\033[4~", KEY_END}, {"\033[7~", KEY_HOME}, {"\033[8~", KEY_END},
        {"\033[5~", KEY_PPAGE}, {"\033[6~", KEY_NPAGE}, {"\033[3~", KEY_DC}, {"\033[Z", KEY_BTAB},
    };
    for (unsigned i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (key_defined(extra[i].seq) == 0) define_key(extra[i].seq, extra[i].key);
    }
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    return 0;
}

void kx_ui_end(void) {
    if (!started) return;
    curs_set(1);
    endwin();
    started = 0;
}

void kx_ui_size(int *rows, int *cols) {
    getmaxyx(stdscr, *rows, *cols);
}

static attr_t attributes(int attrs) {
    attr_t a = A_NORMAL;
    if (attrs & KX_ATTR_REVERSE) a |= A_REVERSE;
    if (attrs & KX_ATTR_BOLD) a |= A_BOLD;
    if (attrs & KX_ATTR_DIM) a |= A_DIM;
    return a;
}

void kx_ui_put(int row, int col, const char *utf8, int attrs, int clear_eol) {
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    if (row < 0 || row >= rows || col >= cols) return;
    attr_t a = attributes(attrs);
    attron(a);
    /* The caller clips to the width; the last cell of the last row cannot be written
     * without scrolling, so leave it. */
    mvaddstr(row, col, utf8);
    attroff(a);
    if (clear_eol) {
        int y, x;
        getyx(stdscr, y, x);
        if (y == row) clrtoeol();
    }
}

void kx_ui_clear(void) { erase(); }

void kx_ui_cursor(int row, int col, int visible) {
    curs_set(visible ? 1 : 0);
    if (visible) move(row, col);
}

void kx_ui_refresh(void) { refresh(); }

void kx_ui_touch(void) { clearok(curscr, TRUE); }

int kx_ui_key(int timeout_ms) {
    timeout(timeout_ms);
    wint_t ch;
    int r = get_wch(&ch);
    if (r == ERR) return KX_KEY_NONE;
    if (r == KEY_CODE_YES) {
        switch (ch) {
        case KEY_UP: return KX_KEY_UP;
        case KEY_DOWN: return KX_KEY_DOWN;
        case KEY_LEFT: return KX_KEY_LEFT;
        case KEY_RIGHT: return KX_KEY_RIGHT;
        case KEY_PPAGE: return KX_KEY_PGUP;
        case KEY_NPAGE: return KX_KEY_PGDN;
        case KEY_HOME: return KX_KEY_HOME;
        case KEY_END: return KX_KEY_END;
        case KEY_BACKSPACE: return KX_KEY_BACKSPACE;
        case KEY_DC: return KX_KEY_DELETE;
        case KEY_ENTER: return KX_KEY_ENTER;
        case KEY_RESIZE: return KX_KEY_RESIZE;
        case KEY_BTAB: return KX_KEY_TAB_BACK;
        default: return KX_KEY_OTHER;
        }
    }
    return (int)ch;
}
