import type { Announcement } from '../../domain/announcement';
import type { MessagePublisher } from '../../ports/publishing';
import { type SnsMessage, snsMessageOf } from '../aws/sns-messages';

/** The verdict-events topic in one process (`npm start`): each message goes to the subscriber. */
export class InProcessTopic implements MessagePublisher {
  constructor(private readonly subscriber: (message: SnsMessage) => Promise<void>) {}

  async publish(announcement: Announcement): Promise<void> {
    await this.subscriber(snsMessageOf(announcement));
  }
}
