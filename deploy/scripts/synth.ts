/**
 * Writes the CloudFormation template (`npm run synth`): CloudMapHaproxyTemplateStack synthesized,
 * checked by cdk-nag's AwsSolutions pack, into cloudformation/cloudmap-haproxy.template.json.
 * test/template.test.ts fails while the committed file differs from a fresh synthesis.
 */
import { writeFileSync } from "node:fs"
import process from "node:process"
import { synthesizeTemplate, TEMPLATE_FILE } from "../lib/synthesize.ts"

const template = synthesizeTemplate()
writeFileSync(TEMPLATE_FILE, `${JSON.stringify(template, null, 2)}\n`)
process.stdout.write(`${TEMPLATE_FILE.pathname}: written (${Object.keys(template.Resources).length} resources, ${Object.keys(template.Parameters).length} parameters)\n`)
