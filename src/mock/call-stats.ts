/** The mock's count of the calls it answered, by operation and outcome and by service (GET /_mock/calls). */

interface OperationStats {
  total: number
  outcomes: Record<string, number>
}

export class CallStats {
  since = new Date()
  total = 0
  readonly operations = new Map<string, OperationStats>()
  readonly services = new Map<string, Map<string, number>>()

  record(operation: string, service: string | undefined, outcome: string): void {
    this.total++
    let op = this.operations.get(operation)
    if (op === undefined) {
      op = { total: 0, outcomes: {} }
      this.operations.set(operation, op)
    }
    op.total++
    op.outcomes[outcome] = (op.outcomes[outcome] ?? 0) + 1
    if (service !== undefined) {
      let svc = this.services.get(service)
      if (svc === undefined) {
        svc = new Map()
        this.services.set(service, svc)
      }
      svc.set(operation, (svc.get(operation) ?? 0) + 1)
    }
  }

  toJSON(): Record<string, unknown> {
    return {
      since: this.since.toISOString(),
      total: this.total,
      operations: Object.fromEntries(this.operations),
      services: Object.fromEntries([...this.services].map(([name, ops]) => [name, Object.fromEntries(ops)]))
    }
  }
}
