// GNU libmicrohttpd (Debian's libmicrohttpd-dev), for /healthz, /metrics and /versions: it parses
// the requests, so that sentinel reads no HTTP of its own. MHD_start_daemon and
// MHD_get_daemon_info take their options through C varargs, which Swift cannot call.
#include <sys/socket.h>
#include <microhttpd.h>

// One polling thread; a connection idle for `timeout` seconds is closed, and at most `limit` are
// open at once, so that slow clients cannot hold the server.
static inline struct MHD_Daemon *sentinel_mhd_start(const struct sockaddr *address, MHD_AccessHandlerCallback handler,
                                                    void *context, unsigned int timeout, unsigned int limit) {
    unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (address->sa_family == AF_INET6) flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, context,
                            MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                            MHD_OPTION_CONNECTION_LIMIT, limit,
                            MHD_OPTION_END);
}

static inline unsigned short sentinel_mhd_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}
