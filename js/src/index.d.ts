// Types of sessionbox-express (see README.md).

import type { Store, SessionData, SessionOptions as ExpressSessionOptions, CookieOptions } from "express-session";
import type { RequestHandler, Request } from "express";

/** How hard a save works to survive a power loss (the WIT `durability`). */
export type Durability = "none" | "file" | "full";

/** What `new SessionboxStore(...)` takes. Every setting but `dir` and `secretKey` has Django's default. */
export interface SessionboxStoreOptions {
    /** The session directory (Django's `SESSION_FILE_PATH`); created when missing. */
    dir: string;
    /** Django's `SECRET_KEY`: signs every session written. */
    secretKey: string;
    /** Django's `SECRET_KEY_FALLBACKS`: older secrets still accepted when reading. */
    fallbackKeys?: string[];
    /** Django's `SESSION_COOKIE_AGE` in seconds (default 1209600, two weeks). */
    cookieAge?: number;
    /** The session files' prefix, Django's `SESSION_COOKIE_NAME` (default `sessionid`); also the cookie's name with `session()`. */
    filePrefix?: string;
    /** The signing salt (default `django.contrib.sessions.SessionStore`). */
    keySalt?: string;
    /** The largest session accepted, in bytes of JSON text (default 1 MiB). */
    maxSessionSize?: number;
    /** The fsync policy for saves (default `file`). */
    durability?: Durability;
    /** Django's `SESSION_EXPIRE_AT_BROWSER_CLOSE` (default false). */
    expireAtBrowserClose?: boolean;
    /** Cookie attributes sessions read back get (`session()` sets them from its own `cookie`). */
    cookie?: CookieOptions;
    /** Whether `touch` re-saves an unmodified session, restarting its age (default true); false writes nothing, as Django. */
    touch?: boolean;
}

/** `{scanned, deleted, skipped}`, as the component's `clear-expired` reports. */
export interface SweepReport {
    scanned: number;
    deleted: number;
    skipped: number;
}

/** A session as express-session gets it from the store: Django's data plus express's `cookie`. */
export type StoredSession = SessionData & Record<string, unknown>;

/** An express-session store on Django's file session store, every operation in the sessionbox component. */
export class SessionboxStore extends Store {
    constructor(options: SessionboxStoreOptions);
    /** The session directory, absolute. */
    readonly dir: string;
    /** Django's `SESSION_COOKIE_AGE`, in seconds. */
    readonly cookieAge: number;
    /** The session files' prefix. */
    readonly filePrefix: string;
    /** Django's `SESSION_EXPIRE_AT_BROWSER_CLOSE`. */
    readonly expireAtBrowserClose: boolean;
    /** Cookie attributes of sessions read back. */
    cookie: CookieOptions;
    /** express-session's `genid`: a Django key (32 of `[a-z0-9]`), remembered for `req` so its first save creates the session. */
    readonly genid: (req: Request | object) => string;
    /** The session `key` as express-session wants it, or `null` (missing, expired, bad signature, corrupt). Synchronous. */
    load(key: string): StoredSession | null;
    /** Saves `sess` as `key`: created when this request's `genid` made the key, else updated (a deleted session is never recreated). Synchronous; throws a SessionboxError. */
    save(key: string, sess: SessionData): void;
    get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void;
    set(sid: string, session: SessionData, callback?: (err?: unknown) => void): void;
    destroy(sid: string, callback?: (err?: unknown) => void): void;
    touch(sid: string, session: SessionData, callback?: (err?: unknown) => void): void;
    all(callback: (err: unknown, sessions?: { [sid: string]: SessionData } | null) => void): void;
    length(callback: (err: unknown, length?: number) => void): void;
    clear(callback?: (err?: unknown) => void): void;
    /** The keys of the session files in the directory, expired ones included. */
    keys(): string[];
    /** Deletes the expired sessions (Django's `clearsessions`). */
    clearExpired(): SweepReport;
}

/** Why a store operation failed: `code` is `SESSIONBOX_<WIT error case>`, `status` 400 for a session deleted meanwhile, else 500. */
export class SessionboxError extends Error {
    readonly code: string;
    readonly status: number;
}

/** A fresh Django session key: 32 characters of `[a-z0-9]`. */
export function newSessionKey(): string;
/** Whether `value` can be a session key: 8 to 255 characters of `[a-z0-9]`. */
export function isSessionKey(value: unknown): value is string;

export const DEFAULT_COOKIE_AGE: number;
export const DEFAULT_FILE_PREFIX: string;
export const DEFAULT_KEY_SALT: string;
export const DEFAULT_MAX_SESSION_SIZE: number;

/** What `djangoCookie` takes. */
export interface DjangoCookieOptions {
    /** The cookie's name (default `sessionid`); express-session's `name` must be the same. */
    name?: string;
    /** express-session's `secret`; made at random when not given. It never leaves the process. */
    secret?: string;
    /** express-session's `cookie` option: the path, domain and SameSite of the deletion cookie. */
    cookie?: CookieOptions;
}

/** The middleware `djangoCookie` returns, with the name and secret express-session must use. */
export interface DjangoCookieMiddleware extends RequestHandler {
    readonly cookieName: string;
    readonly secret: string;
}

/** Middleware making express-session speak Django's cookie (the raw key); mount it just before express-session. */
export function djangoCookie(options?: DjangoCookieOptions): DjangoCookieMiddleware;
/** The value of cookie `name` in a `Cookie` header as Django reads it (the last wins, quotes stripped). */
export function djangoCookieValue(header: string | undefined, name: string): string | undefined;

/** What `session()` takes: express-session's options, less those it sets itself. */
export interface SessionOptions extends Omit<ExpressSessionOptions, "store" | "secret" | "genid"> {
    store: SessionboxStore;
}

/** `[djangoCookie, expressSession]` on `store`, with Django's defaults; pass to `app.use`. */
export function session(options: SessionOptions): [DjangoCookieMiddleware, RequestHandler];

/** The component this package runs. */
export const component: Readonly<{ witPackage: string; version: string; wasmSha256: string; wasmBytes: number }>;

/** A user as Django's session login needs it: `auth_user`'s primary key and stored password hash. */
export interface DjangoUser {
    id: string;
    passwordHash: string;
    /** Default `django.contrib.auth.backends.ModelBackend`. */
    backend?: string;
}

/** Django's login keys, shared with Django and the Rust layer. */
export namespace auth {
    const USER_ID_KEY: "_auth_user_id";
    const BACKEND_KEY: "_auth_user_backend";
    const HASH_KEY: "_auth_user_hash";
    const MODEL_BACKEND: "django.contrib.auth.backends.ModelBackend";
    /** Django's `get_session_auth_hash()` for a stored password hash under `secretKey`. */
    function sessionAuthHash(passwordHash: string, secretKey: string): string;
    /** Whether `password` matches Django's stored `pbkdf2_sha256` hash. */
    function checkPassword(password: string, hash: string): boolean;
    /** The primary key the session names as logged in, unchecked. */
    function userId(req: Request): string | null;
    /** Django's `login`: a new key (data kept unless another user's), and the three login keys. */
    function login(req: Request, user: DjangoUser, secretKey: string): Promise<void>;
    /** Django's `logout`: the session is deleted, and with `djangoCookie` its cookie. */
    function logout(req: Request): Promise<void>;
    /** Django's `get_user` check: the user's id when the session's hash still matches, else `null` (a stale login is ended). */
    function verifiedUserId(req: Request, user: DjangoUser, secretKey: string, fallbackKeys?: string[]): Promise<string | null>;
}
