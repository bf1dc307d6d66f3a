import { StringDecoder } from 'node:string_decoder';
import { shortId } from '@cargohold/image-store';
import type { DockerProgress } from '@cargohold/queue-contracts';

type Emit = (event: DockerProgress) => Promise<void>;

/**
 * What the legacy builder prints, line for line (`Step 2/5 : RUN make`, ` ---> Using cache`,
 * ` ---> Running in …`, the command's output, ` ---> <id>`, `Successfully built …`). With `-q`
 * only the image ID is printed at the end, as dockerd does.
 */
export class BuildOutput {
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly emit: Emit,
    private readonly quiet: boolean,
  ) {}

  private say(text: string): Promise<void> {
    return this.quiet ? Promise.resolve() : this.emit({ stream: text });
  }

  step(index: number, total: number, original: string): Promise<void> {
    return this.say(`Step ${index}/${total} : ${original}\n`);
  }

  usingCache(): Promise<void> {
    return this.say(' ---> Using cache\n');
  }

  runningIn(containerId: string): Promise<void> {
    return this.say(` ---> Running in ${containerId.slice(0, 12)}\n`);
  }

  removingContainer(containerId: string): Promise<void> {
    return this.say(`Removing intermediate container ${containerId.slice(0, 12)}\n`);
  }

  image(imageId: string): Promise<void> {
    return this.say(` ---> ${shortId(imageId)}\n`);
  }

  /** A chunk of a RUN command's output (stdout and stderr alike, as the legacy builder shows them). */
  output(chunk: Buffer): Promise<void> {
    const text = this.decoder.write(chunk);
    return text ? this.say(text) : Promise.resolve();
  }

  /** Ends a command's output: a partial UTF-8 sequence left over is flushed as is. */
  endOutput(): Promise<void> {
    const rest = this.decoder.end();
    return rest ? this.say(rest) : Promise.resolve();
  }

  note(text: string): Promise<void> {
    return this.say(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Progress lines of a base-image pull, relayed as the legacy builder does. */
  relay(event: DockerProgress): Promise<void> {
    return this.quiet ? Promise.resolve() : this.emit(event);
  }

  async built(imageId: string, tags: string[]): Promise<void> {
    await this.emit({ aux: { ID: imageId } });
    if (this.quiet) {
      await this.emit({ stream: `${imageId}\n` });
      return;
    }
    await this.say(`Successfully built ${shortId(imageId)}\n`);
    for (const tag of tags) await this.say(`Successfully tagged ${tag}\n`);
  }
}
