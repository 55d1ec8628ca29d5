/** Synthesis of the template stack, shared by `npm run synth` and the tests. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { App, Validations } from "aws-cdk-lib"
import { AwsSolutionsChecks } from "cdk-nag"
import { CloudMapHaproxyTemplateStack } from "./template-stack.ts"

export const TEMPLATE_FILE = new URL("../cloudformation/cloudmap-haproxy.template.json", import.meta.url)
export const STACK_NAME = "CloudMapHaproxy"

/** A CDK app that writes nothing but its output directory: no version or path metadata in templates. */
export const quietApp = (outdir: string): App =>
  new App({ outdir, analyticsReporting: false, context: { "aws:cdk:enable-path-metadata": false, "aws:cdk:disable-stack-trace": true } })

export interface Template {
  readonly Parameters: Record<string, { Type: string; Default?: string; Description?: string }>
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Condition?: string }>
  readonly [key: string]: unknown
}

/**
 * The template stack synthesized with cdk-nag's AwsSolutions pack; throws (with the validation
 * report) when a finding is not acknowledged.
 */
export const synthesizeTemplate = (): Template => {
  const outdir = mkdtempSync(join(tmpdir(), "cloudmap-haproxy-synth-"))
  try {
    const app = quietApp(outdir)
    new CloudMapHaproxyTemplateStack(app, STACK_NAME)
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
    try {
      app.synth()
    } catch (e) {
      const report = join(outdir, "validation-report.json")
      throw new Error(`${String(e)}\n${readFileSync(report, "utf8")}`)
    }
    return JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.template.json`), "utf8")) as Template
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}
