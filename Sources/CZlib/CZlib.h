// zlib (Debian's zlib1g-dev), to gzip the http output's bodies. deflateInit2 is a macro, which
// Swift cannot call.
#include <zlib.h>

// windowBits 15 + 16 asks for a gzip header and trailer rather than zlib's.
static inline int sentinel_gzip_init(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
