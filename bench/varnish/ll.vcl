vcl 4.1;

import std;

# Ringside bench, LL-HLS rounds: Varnish as a low-latency HLS edge cache in
# front of the LL origin simulator. bench/ll.bash fills in the @...@
# placeholders.
#
# What an operator tunes for LL-HLS, and why (bench/README.md says more):
# - the hash is the URL with its query (Varnish's default), sorted so that
#   one blocking reload (?_HLS_msn=M&_HLS_part=P) is one object however a
#   player spells it; other parameters are dropped;
# - coalescing is the waiting list (the default): one backend fetch per
#   object, and every waiting request is woken the moment its headers
#   arrive (no polling), then streamed the body;
# - the backend's first_byte_timeout is above the longest hold of a
#   blocking request (three target durations);
# - grace is off for playlists: a stale playlist answers no blocking
#   request, and a plain one should not lag a part; parts live 1 h;
# - errors (400, 503) are cached 1 s: an uncacheable answer would wake the
#   waiting list one request at a time (each its own backend fetch).

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
    if (req.url !~ "^/live/@EVENT@/[A-Za-z0-9._/-]+\.(m3u8|m4s|mp4)(\?.*)?$") {
        return (synth(404));
    }
    set req.url = regsub(req.url, "^/live/@EVENT@/", "/");
    if (req.url ~ "\.m3u8\?") {
        # Keep the delivery directives only, in one order.
        set req.url = regsuball(req.url, "([?&])(?!_HLS_(msn|part|skip)=)[^&]*", "\1");
        set req.url = regsuball(req.url, "&&+", "&");
        set req.url = regsub(req.url, "[?&]+$", "");
        set req.url = regsub(req.url, "\?&", "?");
        set req.url = std.querysort(req.url);
    } else {
        set req.url = regsub(req.url, "\?.*$", "");
    }
    unset req.http.Cookie;
    unset req.http.Authorization;
    unset req.http.Accept-Encoding;
    return (hash);
}

sub vcl_backend_response {
    unset beresp.http.Set-Cookie;
    if (bereq.url ~ "\.m3u8") {
        set beresp.grace = 0s;
        set beresp.keep = 0s;
        if (beresp.status == 200) {
            # Every parked player of a blocking key asks within a part
            # target; a plain playlist goes stale in one.
            if (bereq.url ~ "_HLS_msn=") {
                set beresp.ttl = 2s;
            } else {
                set beresp.ttl = 0.5s;
            }
        } else {
            set beresp.ttl = 1s;
        }
        return (deliver);
    }
    if (beresp.status == 200) {
        set beresp.ttl = 1h;
        set beresp.grace = 10s;
    } else {
        # A part asked for before its hint: do not keep it missing.
        set beresp.ttl = 0.2s;
        set beresp.grace = 0s;
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
