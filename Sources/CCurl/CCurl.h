// libcurl (Debian's libcurl4-openssl-dev), for the http output. curl_easy_setopt and
// curl_easy_getinfo take their value through C varargs, which Swift cannot call: these wrappers
// name the value's type.
#include <curl/curl.h>

static inline CURLcode sentinel_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode sentinel_curl_set_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode sentinel_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*sentinel_curl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode sentinel_curl_set_write_function(CURL *handle, sentinel_curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode sentinel_curl_response_code(CURL *handle, long *code) {
    return curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}
