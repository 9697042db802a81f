vcl 4.1;

# Ringside bench, system (c): Varnish as a live-HLS edge cache in front of
# the origin simulator. bench/run fills in the @...@ placeholders.
#
# Request coalescing is Varnish's default: concurrent misses for one object
# wait on its waiting list while a single backend fetch runs, and they are
# served from the object as it streams in (do_stream is on by default).
# Grace serves a just-expired object while one background fetch refreshes
# it, so a playlist expiring under a crowd costs the origin one request.

backend origin {
    .host = "@ORIGIN_HOST@";
    .port = "@ORIGIN_PORT@";
    .connect_timeout = 2s;
    .first_byte_timeout = 10s;
    .between_bytes_timeout = 10s;
}

sub vcl_recv {
    if (req.method != "GET" && req.method != "HEAD") {
        return (synth(405));
    }
    # Tokens, CMCD and cache busters never reach the cache key or the origin.
    set req.url = regsub(req.url, "\?.*$", "");
    if (req.url !~ "^/live/@EVENT@/[A-Za-z0-9._/-]+\.(m3u8|ts|m4s|mp4|aac|vtt)$") {
        return (synth(404));
    }
    set req.url = regsub(req.url, "^/live/@EVENT@/", "/");
    # Nothing per-viewer may split or bypass the cache.
    unset req.http.Cookie;
    unset req.http.Authorization;
    unset req.http.Accept-Encoding;
    return (hash);
}

sub vcl_hash {
    # The path alone: every Host and port of this edge shares one object.
    hash_data(req.url);
    return (lookup);
}

sub vcl_backend_response {
    unset beresp.http.Set-Cookie;
    if (beresp.status >= 500) {
        if (bereq.is_bgfetch) {
            # Keep serving the stale copy rather than caching the error.
            return (abandon);
        }
        set beresp.ttl = 0s;
        return (deliver);
    }
    if (beresp.status == 404) {
        # A segment asked for before it exists must not stay missing.
        set beresp.ttl = 1s;
        set beresp.grace = 0s;
    } elsif (bereq.url ~ "\.m3u8$") {
        # Live playlists change every segment: a short TTL bounds how stale
        # a viewer's playlist is; the small grace absorbs the refresh.
        set beresp.ttl = 1s;
        set beresp.grace = 1s;
    } else {
        # Segments never change once published.
        set beresp.ttl = 1h;
        set beresp.grace = 10s;
    }
    set beresp.keep = 0s;
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.Via;
    unset resp.http.X-Varnish;
    return (deliver);
}
