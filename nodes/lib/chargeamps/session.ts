/**
 * The login session with the Charge Amps cloud: logs in with the API key,
 * reads the expiry from the JWT, refreshes about 30 s before it runs out
 * (sending both the apiKey and the Bearer header, as clients disagree on
 * which one the server wants), and falls back to a fresh login when the
 * refresh fails. Concurrent callers share one login/refresh in flight.
 */
import { HttpError, type HttpClient } from "../http-client";
import { API_PREFIX, type LoginResponse, type TokenRefresh } from "./models";
import { jwtExpiryMs } from "./jwt";

export interface ChargeAmpsCredentials {
  email: string;
  password: string;
  apiKey: string;
}

export type SessionState = "logged-out" | "logging-in" | "logged-in" | "failed";

export interface SessionOptions {
  /** Refresh this long before the token expires (default 30 s). */
  refreshMarginMs?: number;
  /** Lifetime to assume when a token carries no readable `exp` (default 55 min). */
  fallbackLifetimeMs?: number;
  now?: () => number;
  onState?: (state: SessionState, error?: Error) => void;
}

interface Tokens {
  token: string;
  refreshToken: string | null;
  expiresAt: number;
}

export class ChargeAmpsSession {
  private readonly http: HttpClient;
  private readonly credentials: ChargeAmpsCredentials;
  private readonly options: SessionOptions;
  private tokens: Tokens | undefined;
  private pending: Promise<string> | undefined;

  constructor(http: HttpClient, credentials: ChargeAmpsCredentials, options: SessionOptions = {}) {
    this.http = http;
    this.credentials = credentials;
    this.options = options;
  }

  /** Every secret this session knows, for redaction. */
  secrets(): string[] {
    const out = [this.credentials.password, this.credentials.apiKey];
    if (this.tokens) {
      out.push(this.tokens.token);
      if (this.tokens.refreshToken) out.push(this.tokens.refreshToken);
    }
    return out;
  }

  get apiKey(): string {
    return this.credentials.apiKey;
  }

  get expiresAt(): number | undefined {
    return this.tokens?.expiresAt;
  }

  /** A token that is valid for at least the refresh margin; logs in or refreshes when needed. */
  token(): Promise<string> {
    const tokens = this.tokens;
    if (tokens && this.now() < tokens.expiresAt - this.margin()) return Promise.resolve(tokens.token);
    return this.shared(() => (tokens ? this.refreshOrLogin(tokens) : this.login()));
  }

  /**
   * The server refused `rejected` (HTTP 401): forget it and log in afresh,
   * unless another caller already replaced it, in which case use theirs.
   */
  renew(rejected: string): Promise<string> {
    if (this.tokens && this.tokens.token !== rejected) return Promise.resolve(this.tokens.token);
    if (this.pending) return this.pending;
    this.tokens = undefined;
    return this.shared(() => this.login());
  }

  /** Forgets the tokens (the next call logs in again). */
  reset(): void {
    this.tokens = undefined;
  }

  private shared(run: () => Promise<string>): Promise<string> {
    if (this.pending) return this.pending;
    const promise = run().finally(() => {
      if (this.pending === promise) this.pending = undefined;
    });
    this.pending = promise;
    return promise;
  }

  private async refreshOrLogin(tokens: Tokens): Promise<string> {
    if (tokens.refreshToken) {
      try {
        const body: TokenRefresh = { token: tokens.token, refreshToken: tokens.refreshToken };
        const res = await this.http.post<TokenRefresh>(`${API_PREFIX}/auth/refreshtoken`, body, {
          headers: { apiKey: this.credentials.apiKey, Authorization: `Bearer ${tokens.token}` },
        });
        return this.accept(res.data?.token, res.data?.refreshToken ?? null, "token refresh");
      } catch (err) {
        if (err instanceof HttpError && err.kind === "aborted") throw err;
        // A refused or failed refresh is normal once the refresh token is old; a login fixes it.
      }
    }
    this.tokens = undefined;
    return this.login();
  }

  private async login(): Promise<string> {
    const { email, password, apiKey } = this.credentials;
    if (!email || !password || !apiKey) {
      const missing = [!email && "email", !password && "password", !apiKey && "API key"].filter(Boolean).join(", ");
      const error = new Error(`Charge Amps account is missing its ${missing}. Open the account configuration and fill it in.`);
      this.emit("failed", error);
      throw error;
    }
    this.emit("logging-in");
    try {
      const res = await this.http.post<LoginResponse>(`${API_PREFIX}/auth/login`, { email, password }, { headers: { apiKey } });
      const token = this.accept(res.data?.token, res.data?.refreshToken ?? null, "login");
      this.emit("logged-in");
      return token;
    } catch (err) {
      const error = loginError(err);
      if (!(err instanceof HttpError && err.kind === "aborted")) this.emit("failed", error);
      throw error;
    }
  }

  private accept(token: unknown, refreshToken: string | null, what: string): string {
    if (typeof token !== "string" || token === "") {
      throw new HttpError("bad_response", `Charge Amps cloud answered the ${what} without a token`, {
        method: "POST",
        url: `${API_PREFIX}/auth`,
      });
    }
    const expiresAt = jwtExpiryMs(token) ?? this.now() + (this.options.fallbackLifetimeMs ?? 55 * 60_000);
    this.tokens = { token, refreshToken, expiresAt };
    return token;
  }

  private emit(state: SessionState, error?: Error): void {
    try {
      this.options.onState?.(state, error);
    } catch {
      // A listener must not break the session.
    }
  }

  private margin(): number {
    return this.options.refreshMarginMs ?? 30_000;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function loginError(err: unknown): Error {
  if (err instanceof HttpError && err.kind === "unauthorized") {
    return new HttpError(
      "unauthorized",
      "Charge Amps refused the login (HTTP 401): check the email, the password and the API key in the account configuration.",
      { status: err.status, method: err.method, url: err.url },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
