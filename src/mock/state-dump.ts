/**
 * The whole state as JSON (`GET /_mock/state`): namespaces → services (revision, attributes) →
 * instances (attributes, health).
 */
import { emptyPagesSetting } from "./paging.ts"
import { epochSeconds, type MockState } from "./state-model.ts"

export const dumpState = (state: MockState): Record<string, unknown> => ({
  region: state.region,
  accountId: state.accountId,
  emptyPages: emptyPagesSetting(state),
  revisionClock: state.revisionClock,
  operationCount: state.operationCounter,
  namespaces: state.namespaceOrder.map((nsId) => {
    const ns = state.namespaces.get(nsId)!
    return {
      id: ns.id,
      arn: ns.arn,
      name: ns.name,
      httpName: ns.httpName,
      ...(ns.description === undefined ? {} : { description: ns.description }),
      createDate: epochSeconds(ns.createDate),
      services: ns.serviceIds.map((srvId) => {
        const svc = state.services.get(srvId)!
        return {
          id: svc.id,
          arn: svc.arn,
          name: svc.name,
          ...(svc.description === undefined ? {} : { description: svc.description }),
          healthCheck: svc.healthCheck,
          attributes: svc.attributes,
          revision: svc.revision,
          createDate: epochSeconds(svc.createDate),
          instances: [...svc.instances.values()].map((i) => ({ id: i.id, attributes: i.attributes, health: i.health }))
        }
      })
    }
  })
})
