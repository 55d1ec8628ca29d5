/** The benches' one door to src/apply/generations.ts: the agent's store of configuration generations. */
export { makeGenerationStore } from "../../../src/apply/generations.ts"
