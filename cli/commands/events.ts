import type { Command } from 'commander';
import { requestsFromAnyEvent } from '../../shared/domain/events';
import { imageId } from '../../shared/domain/image-ref';
import { CliFailure, type CliIo, readJson } from '../io';

export function registerEvents(program: Command, io: CliIo): void {
  const events = program.command('events').description('Inspect events');
  events
    .command('parse')
    .description(
      'Print the evaluate requests an EventBridge or SQS event yields, one JSON per line',
    )
    .argument('<file>', 'event JSON file')
    .action((file: string) => {
      const requests = requestsFromAnyEvent(readJson(file));
      if (requests.length === 0) {
        throw new CliFailure(`${file}: the event asks for no evaluation (e.g. a failed push)`);
      }
      for (const request of requests)
        io.out(JSON.stringify({ image: imageId(request.key), ...request }));
    });
}
