export { DiskQueue, type DiskQueueOptions } from './disk-queue.js';
export { Hub, type HubTopics, type TopicName } from './hub.js';
export {
  type ReadingSink,
  StoreWriter,
  type StoreWriterOptions,
  type StoreWriterStatus,
} from './store-writer.js';
