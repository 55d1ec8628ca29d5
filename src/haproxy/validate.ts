/**
 * `haproxy -c`: check a candidate configuration before it reaches the running
 * HAProxy.
 *
 * The verdict is the exit code only: the text differs by version (2.6 prints
 * "Configuration file is valid", 2.9+ prints nothing; docs/haproxy-facts.md).
 * `-q` is deliberately NOT passed: on 2.6.12 `-c -q` also suppresses the
 * ALERT lines (measured), and those are what an operator needs in /status.
 *
 * `haproxy -c` does not catch everything (a bind on a port in use passes):
 * a reload can still fail, see master-cli.ts `reload`.
 */
import process from "node:process"
import { Clock, Duration, Effect, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { haproxyEnvironment } from "./environment.ts"

const DEFAULT_TIMEOUT = Duration.seconds(60)
/** Cap for the text kept from `haproxy -c` (10k-backend configs can print many warnings). */
const MAX_OUTPUT_CHARS = 16 * 1024

export class CandidateInvalid extends Schema.TaggedError<CandidateInvalid>()("CandidateInvalid", {
  cfgPath: Schema.String,
  exitCode: Schema.Number,
  /** Trimmed ALERT (and WARNING) lines from `haproxy -c`; the whole output when it has none. */
  output: Schema.String
}) {
  override get message(): string {
    const first = this.output.split("\n").find((l) => l.includes("[ALERT]")) ?? this.output.split("\n")[0] ?? ""
    return `HAProxy rejected the candidate configuration ${this.cfgPath} (haproxy -c exit ${this.exitCode}): ` +
      `${first.trim() || "no output"}. The running HAProxy was not touched and keeps its last good configuration; ` +
      `the full ALERT text is in the error's output field (/status).`
  }
}

export class ValidatorFailed extends Schema.TaggedError<ValidatorFailed>()("ValidatorFailed", {
  haproxyBin: Schema.String,
  cfgPath: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Could not run \`${this.haproxyBin} -c -f ${this.cfgPath}\`: ${this.detail}. ` +
      `Check that the HAProxy binary path is right and executable.`
  }
}

export class ValidateTimeout extends Schema.TaggedError<ValidateTimeout>()("ValidateTimeout", {
  haproxyBin: Schema.String,
  cfgPath: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `\`${this.haproxyBin} -c -f ${this.cfgPath}\` did not finish within ${this.timeoutMs} ms and was killed. ` +
      `Checking takes about 1 s per 10 000 backends (and longer when server lines use hostnames); ` +
      `raise the validation timeout or reduce the config size.`
  }
}

export type ValidateError = CandidateInvalid | ValidatorFailed | ValidateTimeout

export interface ValidateOptions {
  /** Default 60 s. */
  readonly timeout?: Duration.Input | undefined
}

export interface ValidateOk {
  readonly durationMs: number
  /** WARNING lines printed by a config that is valid. */
  readonly warnings: ReadonlyArray<string>
}

const diagnosticLines = (output: string): Array<string> =>
  output.split("\n").map((l) => l.trimEnd()).filter((l) => /\[(ALERT|WARNING)\]/.test(l))

/** The ALERT/WARNING lines, or the whole trimmed output if there are none; capped. */
export const summarizeCheckOutput = (output: string): string => {
  const lines = diagnosticLines(output)
  const text = (lines.length > 0 ? lines.join("\n") : output).trim()
  return text.length > MAX_OUTPUT_CHARS ? text.slice(0, MAX_OUTPUT_CHARS) + "\n… (truncated)" : text
}

const collectText = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<string, E> =>
  stream.pipe(
    Stream.decodeText(),
    Stream.runFold(() => "", (acc: string, chunk: string) =>
      acc.length > 4 * MAX_OUTPUT_CHARS ? acc : acc + chunk)
  )

/**
 * Runs `<haproxyBin> -c -f <cfgPath>`. Succeeds with the warnings when the
 * exit code is 0, fails with {@link CandidateInvalid} otherwise.
 */
export const validateConfig = Effect.fn("validateConfig")(function*(
  haproxyBin: string,
  cfgPath: string,
  options?: ValidateOptions
): Effect.fn.Return<ValidateOk, ValidateError, ChildProcessSpawner.ChildProcessSpawner> {
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const timeoutMs = Duration.toMillis(options?.timeout ?? DEFAULT_TIMEOUT)
  const started = yield* Clock.currentTimeMillis
  const failed = (cause: unknown) =>
    new ValidatorFailed({
      haproxyBin,
      cfgPath,
      detail: cause instanceof Error ? cause.message : String(cause)
    })

  const run = Effect.scoped(Effect.gen(function*() {
    const handle = yield* spawner.spawn(ChildProcess.make(haproxyBin, ["-c", "-f", cfgPath], {
      stdin: "ignore",
      env: haproxyEnvironment(process.env),
      extendEnv: false,
      killSignal: "SIGKILL"
    }))
    const [output, exitCode] = yield* Effect.all([collectText(handle.all), handle.exitCode], {
      concurrency: "unbounded"
    })
    return { output, exitCode: exitCode as number }
  })).pipe(Effect.mapError(failed))

  const result = yield* run.pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail(new ValidateTimeout({ haproxyBin, cfgPath, timeoutMs }))
    })
  )
  if (result.exitCode !== 0) {
    return yield* new CandidateInvalid({
      cfgPath,
      exitCode: result.exitCode,
      output: summarizeCheckOutput(result.output)
    })
  }
  return {
    durationMs: (yield* Clock.currentTimeMillis) - started,
    warnings: diagnosticLines(result.output).filter((l) => l.includes("[WARNING]"))
  }
})
