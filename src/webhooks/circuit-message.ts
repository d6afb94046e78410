// Circuit transitions as messages on topic:switchyard.circuits, so operators and services can
// subscribe to them like to anything else.
import { uuidv7 } from '../messages/message-id.ts';
import type { NewMessage } from '../messages/messages.repository.ts';
import type { CircuitEvent } from './webhook-dispatcher.ts';

export const CIRCUITS_TOPIC = 'topic:switchyard.circuits';

export function circuitMessage(event: CircuitEvent): NewMessage {
  return {
    id: uuidv7(), sender_id: null, sender: 'system:switchyard', to_address: CIRCUITS_TOPIC, type: `circuit.${event.state}`,
    payload: event, headers: null, priority: 0, delay_seconds: 0, deliver_at: null, ttl_seconds: null, group_id: null,
    dedup_id: null, correlation_id: null, reply_to: null,
  };
}
