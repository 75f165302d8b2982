/* libcurl, as kexboot's fetcher needs it: curl_easy_setopt is variadic, so Swift cannot
 * call it; this file sets every option in one place and streams the body to a file. */
#ifndef CCURL_H
#define CCURL_H

#include <stdint.h>

struct kx_fetch_request {
    const char *url;
    int fd;                     /* the body is written here, from the start */
    long connect_timeout;       /* seconds; 0: libcurl's default */
    long low_speed_limit;       /* bytes/s below which … */
    long low_speed_time;        /* … for this many seconds the transfer is abandoned */
    long total_timeout_ms;      /* the whole transfer, in milliseconds; 0: none */
    long max_redirects;
    const char *ca_file;        /* NULL: the system bundle */
    int insecure;               /* 1: no certificate or host-name check (asked for explicitly) */
    const char *proxy;          /* NULL or "": none, whatever the environment says */
    int64_t max_size;           /* 0: no limit */
    long tftp_blksize;          /* 0: 512 */
    const char *user_agent;
    /* Called now and then; a nonzero return abandons the transfer. */
    int (*progress)(void *context, int64_t bytes, int64_t total);
    void *context;
};

struct kx_fetch_result {
    int code;                   /* CURLcode */
    long response;              /* HTTP/FTP status, 0 for TFTP/file */
    int64_t bytes;              /* body bytes written */
    int64_t total;              /* announced length, -1 when not known */
    int too_big;                /* stopped at max_size */
    int write_failed;           /* errno of a failed write(), else 0 */
    char error[256];
    char effective_url[1024];
};

/* curl_global_init, once. */
void kx_curl_init(void);

/* Fetches one URL. Returns the CURLcode (also in result->code). */
int kx_fetch(const struct kx_fetch_request *request, struct kx_fetch_result *result);

/* An anonymous in-memory file (memfd_create, close-on-exec). */
int kx_fetch_memfd(void);

/* curl_easy_strerror. */
const char *kx_curl_strerror(int code);

/* The CURLcode numbers the Swift side branches on. */
enum {
    KX_CURLE_OK = 0,
    KX_CURLE_UNSUPPORTED_PROTOCOL = 1,
    KX_CURLE_URL_MALFORMAT = 3,
    KX_CURLE_COULDNT_RESOLVE_PROXY = 5,
    KX_CURLE_COULDNT_RESOLVE_HOST = 6,
    KX_CURLE_COULDNT_CONNECT = 7,
    KX_CURLE_PARTIAL_FILE = 18,
    KX_CURLE_HTTP_RETURNED_ERROR = 22,
    KX_CURLE_WRITE_ERROR = 23,
    KX_CURLE_OPERATION_TIMEDOUT = 28,
    KX_CURLE_ABORTED_BY_CALLBACK = 42,
    KX_CURLE_TOO_MANY_REDIRECTS = 47,
    KX_CURLE_GOT_NOTHING = 52,
    KX_CURLE_SEND_ERROR = 55,
    KX_CURLE_RECV_ERROR = 56,
    KX_CURLE_PEER_FAILED_VERIFICATION = 60,
    KX_CURLE_SSL_CACERT_BADFILE = 77,
    KX_CURLE_REMOTE_FILE_NOT_FOUND = 78,
    KX_CURLE_TFTP_NOTFOUND = 68,
    KX_CURLE_TFTP_PERM = 69,
    KX_CURLE_TFTP_ILLEGAL = 71,
    KX_CURLE_FILE_COULDNT_READ_FILE = 37,
    KX_CURLE_SSL_CONNECT_ERROR = 35,
    KX_CURLE_FILESIZE_EXCEEDED = 63,
};

#endif
