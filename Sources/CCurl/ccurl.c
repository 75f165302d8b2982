#define _GNU_SOURCE
#include "ccurl.h"

#include <sys/mman.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void kx_curl_init(void) { pthread_once(&once, global_init); }

int kx_fetch_memfd(void) { return memfd_create("kexboot-fetch", MFD_CLOEXEC); }

const char *kx_curl_strerror(int code) { return curl_easy_strerror((CURLcode)code); }

/* libcurl hands the body over at most 16 KiB at a time; it is gathered here and
 * written 1 MiB at a time (64 write calls for 64 MiB rather than 4096). */
enum { SINK_BUFFER = 1 << 20 };

struct sink {
    const struct kx_fetch_request *request;
    struct kx_fetch_result *result;
    char *buffer;
    size_t used;
};

static int flush_sink(struct sink *sink) {
    size_t done = 0;
    while (done < sink->used) {
        ssize_t n = write(sink->request->fd, sink->buffer + done, sink->used - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            sink->result->write_failed = errno;
            return -1;
        }
        done += (size_t)n;
    }
    sink->used = 0;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    struct sink *sink = user;
    size_t length = size * count;
    if (sink->request->max_size > 0 && sink->result->bytes + (int64_t)length > sink->request->max_size) {
        sink->result->too_big = 1;
        return 0;   /* CURLE_WRITE_ERROR */
    }
    if (sink->used + length > SINK_BUFFER && flush_sink(sink) < 0) return 0;
    if (length > SINK_BUFFER) {
        size_t done = 0;
        while (done < length) {
            ssize_t n = write(sink->request->fd, data + done, length - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                sink->result->write_failed = errno;
                return 0;
            }
            done += (size_t)n;
        }
    } else {
        memcpy(sink->buffer + sink->used, data, length);
        sink->used += length;
    }
    sink->result->bytes += (int64_t)length;
    return length;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal;
    (void)ulnow;
    struct sink *sink = user;
    if (dltotal > 0) sink->result->total = dltotal;
    if (sink->request->progress) return sink->request->progress(sink->request->context, dlnow, dltotal > 0 ? dltotal : -1);
    return 0;
}

int kx_fetch(const struct kx_fetch_request *request, struct kx_fetch_result *result) {
    kx_curl_init();
    memset(result, 0, sizeof *result);
    result->total = -1;
    CURL *curl = curl_easy_init();
    if (!curl) {
        result->code = CURLE_FAILED_INIT;
        strcpy(result->error, "libcurl could not start a transfer");
        return result->code;
    }
    struct sink sink = { request, result, malloc(SINK_BUFFER), 0 };
    if (!sink.buffer) {
        curl_easy_cleanup(curl);
        result->code = CURLE_OUT_OF_MEMORY;
        strcpy(result->error, "out of memory");
        return result->code;
    }
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, result->error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,ftp,ftps,tftp,file");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp,ftps");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, request->max_redirects);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &sink);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024L);
    if (request->connect_timeout > 0) curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request->connect_timeout);
    if (request->low_speed_time > 0) {
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, request->low_speed_limit > 0 ? request->low_speed_limit : 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request->low_speed_time);
    }
    if (request->total_timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request->total_timeout_ms);
    if (request->ca_file && request->ca_file[0]) curl_easy_setopt(curl, CURLOPT_CAINFO, request->ca_file);
    if (request->insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_PROXY, request->proxy ? request->proxy : "");
    if (request->tftp_blksize > 0) curl_easy_setopt(curl, CURLOPT_TFTP_BLKSIZE, request->tftp_blksize);
    if (request->user_agent) curl_easy_setopt(curl, CURLOPT_USERAGENT, request->user_agent);
    if (request->max_size > 0) curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)request->max_size);

    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK && flush_sink(&sink) < 0) {
        code = CURLE_WRITE_ERROR;
        snprintf(result->error, sizeof result->error, "writing the file: %s", strerror(result->write_failed));
    }
    free(sink.buffer);
    result->code = code;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->response);
    curl_off_t length = -1;
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length >= 0) result->total = length;
    char *effective = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
        strncpy(result->effective_url, effective, sizeof result->effective_url - 1);
    }
    if (code != CURLE_OK && !result->error[0]) {
        strncpy(result->error, curl_easy_strerror(code), sizeof result->error - 1);
    }
    curl_easy_cleanup(curl);
    return code;
}
