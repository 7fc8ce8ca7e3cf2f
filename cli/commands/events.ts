import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderEach, withOutput } from '../../shared/command-line/output';
import { requestsFromAnyEvent } from '../../shared/composition/evaluate';
import { imageId } from '../../shared/domain/image-ref';
import { CliFailure, type CliIo, readJson } from '../io';

export function registerEvents(program: Command, io: CliIo): void {
  const events = program.command('events').description('Inspect events');
  const parse = events
    .command('parse')
    .description(
      'Print the evaluate requests an EventBridge or SQS event yields (default: one JSON object per line)',
    )
    .argument('<file>', 'event JSON file');
  withOutput(parse, { default: 'json' });
  withExamples(parse, [
    [
      'What an SQS batch of ECR events asks the evaluate function to do',
      'registry-watcher events parse events/sqs/ecr-push-in-sqs.json',
    ],
    [
      'One line per request: image and trigger',
      'registry-watcher events parse events/eventbridge/ecr-image-action-push.json -o text',
    ],
  ]);
  parse.action((file: string, flags: OutputFlags) => {
    const requests = requestsFromAnyEvent(readJson(file));
    if (requests.length === 0) {
      throw new CliFailure(`${file}: the event asks for no evaluation (e.g. a failed push)`);
    }
    for (const request of requests) {
      const item = { image: imageId(request.key), ...request };
      io.out(renderEach(flags.output, item, (r) => `${r.image} ${r.trigger}`));
    }
  });
}
