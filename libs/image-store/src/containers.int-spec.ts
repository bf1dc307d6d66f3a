import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ContainerEntity } from '@cargohold/db';
import { ALL_BLOBS_PRESENT, TEST_DIALECTS } from '@cargohold/testing';
import type { ContainersService } from './containers.service';
import type { ImageCatalogService } from './image-catalog.service';
import type { ImageCommitService, NewImage } from './image-commit.service';
import type { ImageRemovalService } from './image-removal.service';
import { ImageStoreError } from './image-store.errors';
import type { ImageTaggingService } from './image-tagging.service';
import { fakeImage, type FakeImageOptions, openTestImageStore } from './testing/fake-images';

/** The container tests' image: a shell image with an env and a label of its own. */
const image = (name: string, opts: FakeImageOptions = {}): NewImage =>
  fakeImage(name, { ...opts, run: opts.run ?? { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], Labels: { 'org.example.from': 'image' } } });

/** The rejection's kind and message, to assert dockerd's status and text together. */
async function failure(promise: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ImageStoreError) return { kind: error.kind, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe.each(TEST_DIALECTS)('containers (pins) on $name', ({ open }) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let catalog: ImageCatalogService;
  let commits: ImageCommitService;
  let removal: ImageRemovalService;
  let tagging: ImageTaggingService;
  let containers: ContainersService;

  const create = (img: string, name?: string, extra: Record<string, unknown> = {}) => containers.create({ name, body: { Image: img, ...extra } });
  const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
  const names = async (options: Parameters<ContainersService['list']>[0]) => (await containers.list(options)).map((c) => c.Names[0]);

  beforeAll(async () => {
    const db = await open();
    cleanup = db.cleanup;
    ({ ds, catalog, commits, removal, tagging, containers } = await openTestImageStore(db.settings, ALL_BLOBS_PRESENT));
  });
  afterAll(async () => {
    await ds?.destroy();
    await cleanup?.();
  });

  it('creates a pin with the image config merged in, and lists it only with all', async () => {
    const img = image('base', { tags: ['base:1'] });
    await commits.commit(img);
    const { Id, Warnings } = await create('base:1', 'web', { Env: ['A=1'], Labels: { own: 'yes' } });
    expect(Id).toMatch(/^[0-9a-f]{64}$/);
    expect(Warnings).toEqual([]);
    expect(await containers.list()).toEqual([]);
    const [summary] = await containers.list({ all: true, filters: '{"name":["^web$"]}' });
    expect(summary).toMatchObject({
      Id,
      Names: ['/web'],
      Image: 'base:1',
      ImageID: img.config.digest,
      Command: 'sh',
      State: 'created',
      Status: 'Created',
      Labels: { own: 'yes', 'org.example.from': 'image' },
    });
    const inspect = await containers.inspect('web');
    expect(inspect).toMatchObject({ Id, Name: '/web', Image: img.config.digest, Path: 'sh', Args: [], State: { Status: 'created', Running: false } });
    expect(inspect.Config).toMatchObject({ Image: 'base:1', Env: ['A=1', 'PATH=/usr/bin:/bin'], Cmd: ['sh'], Hostname: Id.slice(0, 12) });
  });

  it('resolves a container by full ID, name with or without slash, and unique ID prefix', async () => {
    const { Id } = await create('base:1', 'lookup');
    for (const key of [Id, 'lookup', '/lookup', Id.slice(0, 12)]) expect((await containers.resolve(key)).id).toBe(Id);
    expect(await failure(containers.inspect('nope'))).toEqual({ kind: 'not-found', message: 'No such container: nope' });
    // A name beats an ID prefix, as in dockerd.
    const { Id: other } = await create('base:1', Id.slice(0, 6));
    expect((await containers.resolve(Id.slice(0, 6))).id).toBe(other);
  });

  it('refuses taken and invalid names and unknown images with dockerd\'s texts', async () => {
    const { Id } = await create('base:1', 'taken');
    expect(await failure(create('base:1', 'taken'))).toEqual({
      kind: 'conflict',
      message: `Conflict. The container name "/taken" is already in use by container "${Id}". You have to remove (or rename) that container to be able to reuse that name.`,
    });
    expect(await failure(create('base:1', '/taken'))).toMatchObject({ kind: 'conflict' });
    expect(await failure(create('base:1', 'bad name'))).toEqual({ kind: 'invalid', message: 'Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed' });
    expect(await failure(create('nope', 'fine'))).toEqual({ kind: 'not-found', message: 'No such image: nope:latest' });
    expect(await failure(containers.create({ body: {} }))).toEqual({ kind: 'invalid', message: 'config cannot be empty in order to create a container' });
    expect(await failure(create('base:1', 'Upper', { Image: 'Base' }))).toEqual({ kind: 'invalid', message: 'invalid reference format: repository name (library/Base) must be lowercase' });
    expect(await failure(containers.create({ platform: 'linux/arm64', body: { Image: 'base:1' } }))).toEqual({
      kind: 'not-found',
      message: 'image with reference base:1 was found but its platform (linux/amd64) does not match the specified platform (linux/arm64)',
    });
    expect(await ds.getRepository(ContainerEntity).countBy({ name: 'fine' })).toBe(0);
  });

  it('needs a command from the user or the image', async () => {
    await commits.commit(image('nocmd', { tags: ['nocmd:1'], run: { Env: ['X=1'] } }));
    expect(await failure(create('nocmd:1'))).toEqual({ kind: 'invalid', message: 'no command specified' });
    const { Id } = await create('nocmd:1', undefined, { Entrypoint: ['/bin/echo'], Cmd: ['hello world', 'x'] });
    const [summary] = (await containers.list({ all: true })).filter((c) => c.Id === Id);
    expect(summary.Command).toBe("/bin/echo 'hello world' x");
  });

  it('generates distinct adjective_surname names', async () => {
    const created = await Promise.all(Array.from({ length: 8 }, () => create('base:1')));
    const generated = await Promise.all(created.map(async ({ Id }) => (await containers.inspect(Id)).Name));
    for (const name of generated) expect(name).toMatch(/^\/[a-z]+_[a-z]+[0-9]?$|^\/[0-9a-f]{12}$/);
    expect(new Set(generated).size).toBe(8);
  });

  it('lets exactly one of many concurrent creates take a name', async () => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => create('base:1', 'race')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as ImageStoreError).kind).toBe('conflict');
  });

  it('rm by name of an image a container uses needs force, with dockerd\'s text, and changes nothing', async () => {
    const img = image('pinned', { tags: ['pinned:1'] });
    await commits.commit(img);
    const { Id } = await create('pinned:1', 'pinner');
    expect(await failure(removal.remove('pinned:1'))).toEqual({
      kind: 'conflict',
      message: `conflict: unable to remove repository reference "pinned:1" (must force) - container ${Id.slice(0, 12)} is using its referenced image ${short(img.config.digest)}`,
    });
    expect(await failure(removal.remove(short(img.config.digest)))).toEqual({
      kind: 'conflict',
      message: `conflict: unable to delete ${short(img.config.digest)} (must be forced) - image is being used by stopped container ${Id.slice(0, 12)}`,
    });
    expect((await catalog.resolve('pinned:1')).id).toBe(img.config.digest);
  });

  it('rm -f by name untags an image a container uses but keeps it, dangling', async () => {
    const img = image('forced', { tags: ['forced:1'] });
    await commits.commit(img);
    await create('forced:1', 'forcer');
    expect(await removal.remove('forced:1', { force: true })).toEqual([{ Untagged: 'forced:1' }, { Untagged: `forced@${img.manifest.digest}` }]);
    expect((await catalog.resolve(img.config.digest)).id).toBe(img.config.digest);
    const dangling = (await catalog.list({ filters: '{"dangling":{"true":true}}' })).map((s) => s.Id);
    expect(dangling).toContain(img.config.digest);
    // The container now shows the image by ID, as dockerd's refreshImage does.
    expect((await containers.list({ all: true, filters: '{"name":["^forcer$"]}' }))[0].Image).toBe(img.config.digest);
    // Without force, by ID, the container still blocks; once it is gone the image goes.
    expect((await failure(removal.remove(img.config.digest))).message).toContain('image is being used by stopped container');
    await containers.remove('forcer');
    expect(await removal.remove(img.config.digest)).toEqual([{ Deleted: img.config.digest }]);
  });

  it('rm -f by ID deletes the image even so, as dockerd does; the container keeps its image ID', async () => {
    const img = image('byid', { tags: ['byid:1'] });
    await commits.commit(img);
    const { Id } = await create('byid:1', 'orphan');
    const records = await removal.remove(short(img.config.digest), { force: true });
    expect(records.at(-1)).toEqual({ Deleted: img.config.digest });
    expect((await containers.inspect(Id)).Image).toBe(img.config.digest);
    expect((await containers.list({ all: true, filters: '{"name":["^orphan$"]}' }))[0].Image).toBe(img.config.digest);
  });

  it('a second name untags without force; a child\'s removal keeps a parent a container uses', async () => {
    const img = image('twice', { tags: ['twice:1', 'other/twice:1'] });
    await commits.commit(img);
    await create('twice:1', 'twice-user');
    expect(await removal.remove('twice:1')).toEqual([{ Untagged: 'twice:1' }, { Untagged: `twice@${img.manifest.digest}` }]);
    expect(await failure(removal.remove('other/twice:1'))).toMatchObject({ kind: 'conflict' });

    const parent = image('parent');
    const child = image('child', { parent: parent.config.digest, tags: ['child:1'] });
    await commits.commit(parent);
    await commits.commit(child);
    await create(parent.config.digest, 'parent-user');
    const removed = await removal.remove('child:1');
    expect(removed.filter((r) => 'Deleted' in r)).toEqual([{ Deleted: child.config.digest }]);
    expect((await catalog.resolve(parent.config.digest)).id).toBe(parent.config.digest);
  });

  it('filters as docker ps does: ancestor, id, name, status, label, before, since, limit', async () => {
    const base = image('fbase', { tags: ['fbase:1'] });
    const derived = image('fchild', { parent: base.config.digest, tags: ['fchild:1'] });
    await commits.commit(base);
    await commits.commit(derived);
    const a = await create('fbase:1', 'f-a', { Labels: { tier: 'web' } });
    const b = await create('fchild:1', 'f-b');
    const c = await create('fbase:1', 'f-c2');
    const mine = (list: Array<string>) => list.filter((n) => n.startsWith('/f-'));
    expect(mine(await names({ all: true, filters: '{"ancestor":["fbase:1"]}' }))).toEqual(['/f-c2', '/f-b', '/f-a']);
    expect(mine(await names({ all: true, filters: '{"ancestor":["fchild:1"]}' }))).toEqual(['/f-b']);
    expect(await names({ all: true, filters: '{"ancestor":["nope"]}' })).toEqual([]);
    expect(await names({ all: true, filters: JSON.stringify({ id: [b.Id.slice(0, 10)] }) })).toEqual(['/f-b']);
    expect(mine(await names({ all: true, filters: '{"name":{"f-[ab]":true}}' }))).toEqual(['/f-b', '/f-a']);
    expect(mine(await names({ all: true, filters: '{"name":["/f-a"]}' }))).toEqual(['/f-a']);
    expect(mine(await names({ filters: '{"status":["created"]}' }))).toEqual(['/f-c2', '/f-b', '/f-a']);
    expect(await names({ all: true, filters: '{"status":["running"]}' })).toEqual([]);
    expect(await names({ all: true, filters: '{"exited":["0"]}' })).toEqual([]);
    expect(mine(await names({ all: true, filters: '{"label":["tier=web"]}' }))).toEqual(['/f-a']);
    expect(mine(await names({ all: true, filters: '{"health":["none"]}' }))).toContain('/f-a');
    expect(mine(await names({ all: true, filters: JSON.stringify({ before: [c.Id] }) }))).toEqual(['/f-b', '/f-a']);
    expect(await names({ all: true, filters: JSON.stringify({ since: ['f-b'] }) })).toEqual(['/f-c2']);
    expect(await names({ limit: 1 })).toEqual(['/f-c2']);
    expect(mine(await names({ all: true, since: a.Id }))).toEqual(['/f-c2', '/f-b']);
    expect(await failure(containers.list({ filters: '{"status":["bogus"]}' }))).toEqual({
      kind: 'invalid',
      message: "invalid filter 'status=bogus': invalid value for state (bogus): must be one of created, running, paused, restarting, removing, exited, dead",
    });
    expect(await failure(containers.list({ filters: '{"bogus":["1"]}' }))).toEqual({ kind: 'invalid', message: "invalid filter 'bogus'" });
    expect(await failure(containers.list({ filters: '{"before":["nope"]}' }))).toEqual({ kind: 'not-found', message: 'No such container: nope' });
  });

  it('an ambiguous ID prefix is a 400, as dockerd\'s GetByPrefix', async () => {
    const ids = (await containers.list({ all: true })).map((c) => c.Id);
    // With a few dozen random IDs, some first hex digit is shared by two of them.
    const shared = [...'0123456789abcdef'].find((d) => ids.filter((id) => id.startsWith(d)).length > 1 && !ids.some((id) => id === d));
    if (!shared) throw new Error('no shared first digit among the test containers');
    expect(await failure(containers.resolve(shared))).toEqual({ kind: 'invalid', message: `multiple IDs found with provided prefix: ${shared}` });
  });

  it('refusing to start removes an auto-remove container, as dockerd after a failed start', async () => {
    await create('base:1', 'autorm', { HostConfig: { AutoRemove: true } });
    await create('base:1', 'kept');
    await containers.refuseToStart('autorm');
    await containers.refuseToStart('kept');
    expect(await failure(containers.inspect('autorm'))).toMatchObject({ kind: 'not-found' });
    expect((await containers.inspect('kept')).Name).toBe('/kept');
    expect(await failure(containers.refuseToStart('nope'))).toEqual({ kind: 'not-found', message: 'No such container: nope' });
  });

  it('rm removes the pin and frees the image and the name', async () => {
    const img = image('freed', { tags: ['freed:1'] });
    await commits.commit(img);
    await create('freed:1', 'freed-user');
    await containers.remove('/freed-user');
    expect(await failure(containers.remove('freed-user'))).toEqual({ kind: 'not-found', message: 'No such container: freed-user' });
    await create('freed:1', 'freed-user');
    await containers.remove('freed-user');
    expect(await removal.remove('freed:1')).toEqual([{ Untagged: 'freed:1' }, { Untagged: `freed@${img.manifest.digest}` }, { Deleted: img.config.digest }]);
  });

  it('lists the image by ID once its name points at another image', async () => {
    const first = image('moving-a', { tags: ['moving:1'] });
    await commits.commit(first);
    await commits.commit(image('moving-b', { tags: ['moving-b:1'] }));
    await create('moving:1', 'mover');
    await tagging.tag('moving-b:1', 'moving', '1');
    expect((await containers.list({ all: true, filters: '{"name":["^mover$"]}' }))[0]).toMatchObject({ Image: first.config.digest, ImageID: first.config.digest });
  });

  it('rename moves the name: the new one resolves, the old one is free again, the ID stays', async () => {
    const { Id } = await create('base:1', 'rn-old');
    await containers.rename('rn-old', 'rn-new');
    expect(await containers.inspect('rn-new')).toMatchObject({ Id, Name: '/rn-new' });
    expect(await failure(containers.inspect('rn-old'))).toEqual({ kind: 'not-found', message: 'No such container: rn-old' });
    const { Id: reused } = await create('base:1', 'rn-old');
    expect(reused).not.toBe(Id);
    // By ID prefix and with slashes on either side, as dockerd accepts them.
    await containers.rename(Id.slice(0, 12), '/rn-slashed');
    await containers.rename('/rn-slashed', ' rn-trimmed ');
    expect((await containers.inspect(Id)).Name).toBe('/rn-trimmed');
  });

  it('rename answers with daemon/rename.go\'s statuses and texts', async () => {
    const { Id: owner } = await create('base:1', 'rn-owner');
    await create('base:1', 'rn-mover');
    expect(await failure(containers.rename('rn-nope', 'x1'))).toEqual({ kind: 'not-found', message: 'No such container: rn-nope' });
    expect(await failure(containers.rename('rn-mover', 'rn-owner'))).toEqual({
      kind: 'conflict',
      message: `Error when allocating new name: Conflict. The container name "/rn-owner" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
    });
    expect(await failure(containers.rename('rn-mover', 'bad name'))).toEqual({
      kind: 'invalid',
      message: 'Error when allocating new name: Invalid container name (/bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
    });
    expect(await failure(containers.rename('rn-mover', 'a'))).toEqual({
      kind: 'invalid',
      message: 'Error when allocating new name: Invalid container name (/a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
    });
    for (const same of ['rn-mover', '/rn-mover']) {
      expect(await failure(containers.rename('rn-mover', same))).toEqual({ kind: 'invalid', message: 'Renaming a container with the same name as its current name' });
    }
    for (const [from, to] of [['rn-mover', ''], ['rn-mover', '/'], ['', 'x1'], ['rn-nope', ' ']]) {
      expect(await failure(containers.rename(from, to))).toEqual({ kind: 'invalid', message: 'Neither old nor new names may be empty' });
    }
    expect((await containers.inspect('rn-mover')).Name).toBe('/rn-mover');
    expect((await containers.inspect('rn-owner')).Id).toBe(owner);
  });

  it('of renames and creates racing for one name, exactly one gets it; the others are 409s', async () => {
    const movers = await Promise.all(['rr-1', 'rr-2', 'rr-3'].map((n) => create('base:1', n)));
    const results = await Promise.allSettled([
      ...['rr-1', 'rr-2', 'rr-3'].map((n) => containers.rename(n, 'rr-prize')),
      ...Array.from({ length: 3 }, () => create('base:1', 'rr-prize')),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as ImageStoreError).kind).toBe('conflict');
    expect(await ds.getRepository(ContainerEntity).countBy({ name: 'rr-prize' })).toBe(1);
    // A losing rename left its container under its old name.
    for (const [i, { Id }] of movers.entries()) expect(['rr-prize', `rr-${i + 1}`]).toContain((await containers.inspect(Id)).Name.slice(1));
  });

  it('count is every container (info reports them all as stopped)', async () => {
    const before = await containers.count();
    await create('base:1', 'counted');
    expect(await containers.count()).toBe(before + 1);
    expect(await containers.count()).toBe(await ds.getRepository(ContainerEntity).count());
  });

  describe('prune', () => {
    const rows = () => ds.getRepository(ContainerEntity);
    // Each test starts from an empty table, since prune without filters takes everything.
    const clear = async () => {
      await containers.prune();
      expect(await rows().count()).toBe(0);
    };
    const sorted = (ids: string[] | null) => [...(ids ?? [])].sort();

    it('removes every container (none ever runs) and reports their IDs; nothing left is null', async () => {
      await create('base:1', 'p-a');
      await create('base:1', 'p-b');
      const all = (await rows().find()).map((c) => c.id);
      expect(all.length).toBeGreaterThan(2);
      const report = await containers.prune();
      expect(report.SpaceReclaimed).toBe(0);
      expect(sorted(report.ContainersDeleted)).toEqual(sorted(all));
      expect(await rows().count()).toBe(0);
      expect(await containers.prune()).toEqual({ ContainersDeleted: null, SpaceReclaimed: 0 });
    });

    it('label=k, label=k=v and label!= narrow it as daemon/prune.go matchLabels does', async () => {
      await clear();
      const both = await create('base:1', 'p-both', { Labels: { x: '1', y: '2' } });
      const onlyX = await create('base:1', 'p-x', { Labels: { x: '1' } });
      const other = await create('base:1', 'p-other', { Labels: { x: '2' } });
      // The image's own label counts too (org.example.from=image, merged in at create).
      const prune = (f: object) => containers.prune(JSON.stringify(f));
      expect(await prune({ label: { nope: true } })).toEqual({ ContainersDeleted: null, SpaceReclaimed: 0 });
      expect(await prune({ label: { 'x=1': true, y: true } })).toEqual({ ContainersDeleted: [both.Id], SpaceReclaimed: 0 });
      // Two label! values: only a container carrying all of them is kept.
      const more = await create('base:1', 'p-both2', { Labels: { x: '1', y: '2' } });
      expect(sorted((await prune({ 'label!': { 'x=1': true, 'y=2': true } })).ContainersDeleted)).toEqual(sorted([onlyX.Id, other.Id]));
      expect((await prune({ 'label!': ['x'] })).ContainersDeleted).toBeNull();
      expect((await prune({ label: ['org.example.from=image'] })).ContainersDeleted).toEqual([more.Id]);
    });

    it('until keeps what was created after the cut-off (timestamp, RFC 3339 or duration)', async () => {
      await clear();
      const old = await create('base:1', 'p-old');
      await rows().update({ id: old.Id }, { createdAt: Date.parse('2020-01-01T00:00:00Z') });
      const fresh = await create('base:1', 'p-fresh');
      expect((await containers.prune('{"until":{"2019-12-31T23:59:59Z":true}}')).ContainersDeleted).toBeNull();
      expect(await containers.prune('{"until":{"1h":true}}')).toEqual({ ContainersDeleted: [old.Id], SpaceReclaimed: 0 });
      expect((await containers.prune(`{"until":["${Math.floor(Date.now() / 1000) + 60}"]}`)).ContainersDeleted).toEqual([fresh.Id]);
    });

    it('refuses other filters, two until values and a bad time with dockerd\'s 400 texts, removing nothing', async () => {
      await clear();
      await create('base:1', 'p-kept');
      expect(await failure(containers.prune('{"name":{"p-kept":true}}'))).toEqual({ kind: 'invalid', message: "invalid filter 'name'" });
      expect(await failure(containers.prune('{"until":{"1h":true,"2h":true}}'))).toEqual({ kind: 'invalid', message: 'more than one until filter specified' });
      expect(await failure(containers.prune('{"until":["soon"]}'))).toEqual({ kind: 'invalid', message: 'failed to parse value as time or duration: "soon"' });
      expect(await rows().count()).toBe(1);
    });

    it('releases the pin: an image untagged with rm -f while pinned is then removable', async () => {
      await clear();
      const img = image('prunepin', { tags: ['prunepin:1'] });
      await commits.commit(img);
      await create('prunepin:1', 'p-pinner');
      await removal.remove('prunepin:1', { force: true });
      expect((await failure(removal.remove(img.config.digest))).message).toContain('image is being used by stopped container');
      await containers.prune();
      expect(await removal.remove(img.config.digest)).toEqual([{ Deleted: img.config.digest }]);
    });

    it('concurrent prunes report each container once', async () => {
      await clear();
      const made = await Promise.all(Array.from({ length: 6 }, () => create('base:1')));
      const reports = await Promise.all([containers.prune(), containers.prune(), containers.prune()]);
      expect(sorted(reports.flatMap((r) => r.ContainersDeleted ?? []))).toEqual(sorted(made.map((m) => m.Id)));
    });
  });
});
