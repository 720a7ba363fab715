// Django's session cookie for express-session: `sessionid=<key>`, the raw
// key, where express-session reads and writes `s:<key>.<signature>`.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isSessionKey } from "./store.js";

/** cookie-signature's `sign`, as express-session checks it. */
function sign(value, secret) {
    return `${value}.${createHmac("sha256", secret).update(value).digest("base64").replace(/=+$/, "")}`;
}

/** cookie-signature's `unsign`: the value, or `false`. */
function unsign(signed, secret) {
    const at = signed.lastIndexOf(".");
    if (at < 0) {
        return false;
    }
    const value = signed.slice(0, at);
    const expected = Buffer.from(sign(value, secret));
    const given = Buffer.from(signed);
    return expected.length === given.length && timingSafeEqual(expected, given) ? value : false;
}

/**
 * The value of cookie `name` in a `Cookie` header as Django's
 * `parse_cookie` reads it: chunks split on `;`, name and value split at the
 * first `=` and trimmed, the last of repeated names winning, surrounding
 * double quotes removed. `undefined` when absent.
 */
export function djangoCookieValue(header, name) {
    let found;
    for (const chunk of String(header ?? "").split(";")) {
        const eq = chunk.indexOf("=");
        const k = (eq < 0 ? "" : chunk.slice(0, eq)).trim();
        let v = (eq < 0 ? chunk : chunk.slice(eq + 1)).trim();
        if (k === name && !(k === "" && v === "")) {
            if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
                v = v.slice(1, -1);
            }
            found = v;
        }
    }
    return found;
}

/** Django's `delete_cookie` for the session cookie. */
function deletionCookie(name, cookie) {
    let text = `${name}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=${cookie.path ?? "/"}`;
    if (cookie.domain) {
        text += `; Domain=${cookie.domain}`;
    }
    const sameSite = cookie.sameSite === true ? "Strict" : cookie.sameSite;
    if (typeof sameSite === "string") {
        text += `; SameSite=${sameSite[0].toUpperCase()}${sameSite.slice(1).toLowerCase()}`;
    }
    if (cookie.secure === true || sameSite === "none" || sameSite === "None") {
        text += "; Secure";
    }
    return text;
}

/**
 * Middleware that makes express-session speak Django's session cookie;
 * mount it just before `expressSession({ name, secret, ... })` with the
 * same `name` and `secret` (its `.cookieName` and `.secret`); `session()`
 * does all of that. See README.md.
 *
 * On the way in, a `name` cookie holding a session key (8 to 255 of
 * `[a-z0-9]`) is handed to express-session signed with `secret` (which
 * never leaves the process); any other value of that name is dropped, so
 * express-session starts a fresh session. On the way out, express-session's
 * `s:<key>.<signature>` cookie is written as the bare key, and a request
 * whose session was destroyed (a logout) gets Django's deletion cookie.
 *
 * @param {import("./index.js").DjangoCookieOptions} [options]
 */
export function djangoCookie(options = {}) {
    const name = options.name ?? "sessionid";
    const secret = options.secret ?? randomBytes(32).toString("base64");
    const cookie = options.cookie ?? {};
    const prefix = `${name}=`;

    function middleware(req, res, next) {
        const header = req.headers.cookie;
        const value = djangoCookieValue(header, name);
        if (value !== undefined) {
            const others = String(header)
                .split(";")
                .filter((chunk) => {
                    const eq = chunk.indexOf("=");
                    return (eq < 0 ? "" : chunk.slice(0, eq)).trim() !== name;
                })
                .map((c) => c.trim())
                .filter((c) => c !== "");
            if (isSessionKey(value)) {
                others.push(`${name}=${encodeURIComponent(`s:${sign(value, secret)}`)}`);
            }
            if (others.length > 0) {
                req.headers.cookie = others.join("; ");
            } else {
                delete req.headers.cookie;
            }
        }
        // Wrapped before express-session wraps it: runs after
        // express-session has set its cookie.
        const writeHead = res.writeHead;
        let done = false;
        res.writeHead = function (...args) {
            if (!done) {
                done = true;
                rewrite(req, res, value !== undefined);
            }
            return writeHead.apply(this, args);
        };
        next();
    }

    function rewrite(req, res, hadCookie) {
        const current = res.getHeader("Set-Cookie");
        const list = current === undefined ? [] : Array.isArray(current) ? [...current] : [String(current)];
        let ours = false;
        const out = [];
        for (const line of list) {
            if (!line.startsWith(prefix)) {
                out.push(line);
                continue;
            }
            const semi = line.indexOf(";");
            const raw = semi < 0 ? line.slice(prefix.length) : line.slice(prefix.length, semi);
            const rest = semi < 0 ? "" : line.slice(semi);
            let decoded;
            try {
                decoded = decodeURIComponent(raw);
            } catch {
                decoded = raw;
            }
            const key = decoded.startsWith("s:") ? unsign(decoded.slice(2), secret) : false;
            if (key !== false) {
                out.push(`${prefix}${key}${rest}`);
                ours = true;
            } else {
                // Another writer's cookie of our name: left as it is.
                out.push(line);
            }
        }
        if (!ours && hadCookie && !req.session) {
            out.push(deletionCookie(name, cookie));
        }
        if (out.length > 0) {
            res.setHeader("Set-Cookie", out);
        }
    }

    Object.defineProperty(middleware, "name", { value: "djangoCookie" });
    middleware.cookieName = name;
    middleware.secret = secret;
    return middleware;
}
