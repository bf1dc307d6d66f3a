import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database } from 'better-sqlite3';
import type { DataSource, EntityManager, QueryRunner, ReplicationMode } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';

/** TypeORM query-runner fields this gate reads or repairs (not part of its public types). */
interface RunnerInternals {
  transactionDepth: number;
  isTransactionActive: boolean;
  stmtCache: Map<string, unknown>;
}

type QueryFn = (query: string, parameters?: unknown[], useStructuredResult?: boolean) => Promise<unknown>;

const gates = new WeakMap<DataSource, SqliteTransactionGate>();

/**
 * One transaction at a time on TypeORM's single better-sqlite3 connection.
 *
 * Out of the box every query runner of that driver is one shared object on one connection, so
 * two requests that each open a transaction interleave: the second BEGIN fails, its ROLLBACK
 * ends the first one's transaction, and the first one's remaining writes then commit one by one
 * even if it later fails; statements of other requests silently join whatever transaction is
 * open. The gate gives every caller its own query runner (sharing the connection and its
 * statement cache) and lets a transaction hold the connection from BEGIN to COMMIT/ROLLBACK;
 * everyone else's statements and transactions wait their turn, first come first served, as
 * they would wait for row locks on PostgreSQL.
 */
export class SqliteTransactionGate {
  /** Marks the async flow of a `transaction(callback)` call (see `admits`). */
  private readonly flows = new AsyncLocalStorage<object>();
  /** Flows marked by `transaction(callback)` whose transaction has not begun yet. */
  private readonly openingFlows = new WeakSet<object>();
  private tail: Promise<void> = Promise.resolve();
  private holder: QueryRunner | undefined;
  private holderFlow: object | undefined;
  private releaseHolder: (() => void) | undefined;
  private connection: Database | undefined;

  /** Prepared statements, shared by all runners: they belong to the connection. */
  private statements = new Map<string, unknown>();

  /** Call from `prepareDatabase`: the gate asks the connection whether a transaction is open. */
  connected(db: Database): void {
    this.connection = db;
    this.statements = new Map();
  }

  /** Makes `ds` hand out gated query runners. Call once, before `initialize()`. */
  install(ds: DataSource): void {
    const driver = ds.driver;
    const sharedRunner = driver.createQueryRunner.bind(driver);
    driver.createQueryRunner = (mode: ReplicationMode) => {
      // A fresh instance of the driver's own runner class, on the same connection.
      const Runner = sharedRunner(mode).constructor as new (d: typeof driver) => QueryRunner;
      const runner = new Runner(driver);
      (runner as unknown as RunnerInternals).stmtCache = this.statements;
      this.attach(runner);
      return runner;
    };
    // `dataSource.transaction` and every repository's manager end up here. The mark is scoped
    // to the call, so code after a not-yet-awaited transaction() stays outside it.
    const manager = ds.manager;
    const transaction = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
    manager.transaction = ((...args: unknown[]) => {
      const current = this.flows.getStore();
      if (current !== undefined && current === this.holderFlow) return transaction(...args);
      const flow = {};
      this.openingFlows.add(flow);
      return this.flows.run(flow, () => transaction(...args));
    }) as EntityManager['transaction'];
    gates.set(ds, this);
  }

  /** Runs `work` with the connection held for `runner` alone (raw BEGIN/COMMIT inside is fine). */
  async hold<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    const flow = {};
    this.holder = runner;
    this.holderFlow = flow;
    try {
      return await this.flows.run(flow, work);
    } finally {
      this.holder = undefined;
      this.holderFlow = undefined;
      release();
    }
  }

  /** FIFO lock: resolves, in call order, once everyone before has released. */
  private acquire(): Promise<() => void> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    return previous.then(() => release);
  }

  /**
   * The holder's own statements pass. So do those of another runner used from inside the
   * holder's transaction callback (e.g. `dataSource.manager` where the callback's
   * EntityManager was meant): making them wait would deadlock, so they run inside the open
   * transaction, as they did on TypeORM's shared runner.
   */
  private admits(runner: QueryRunner): boolean {
    return this.holder === runner || (this.holder !== undefined && this.flows.getStore() === this.holderFlow);
  }

  private attach(runner: QueryRunner): void {
    const query = runner.query.bind(runner) as QueryFn;
    const startTransaction = runner.startTransaction.bind(runner);
    const commitTransaction = runner.commitTransaction.bind(runner);
    const rollbackTransaction = runner.rollbackTransaction.bind(runner);
    const release = runner.release.bind(runner);
    // Transactions this runner opened as savepoints of another runner's (see startTransaction).
    const guestOf: QueryRunner[] = [];

    const gatedQuery: QueryFn = async (sql, parameters, useStructuredResult) => {
      if (this.admits(runner)) return query(sql, parameters, useStructuredResult);
      const done = await this.acquire();
      try {
        return await query(sql, parameters, useStructuredResult);
      } finally {
        done();
      }
    };
    runner.query = gatedQuery as QueryRunner['query'];

    runner.startTransaction = async (isolationLevel?: IsolationLevel) => {
      if (this.holder === runner) return startTransaction(isolationLevel); // nested: a savepoint
      if (this.holder && this.admits(runner)) {
        // A "new" transaction from inside the open one's flow cannot wait for it: nest it.
        const host = this.holder;
        await host.startTransaction(isolationLevel);
        guestOf.push(host);
        return;
      }
      // The flow of the transaction(callback) call that got here, if any; implicit
      // transactions (save, remove) run no caller code inside and need none.
      const current = this.flows.getStore();
      const flow = current !== undefined && this.openingFlows.delete(current) ? current : {};
      const done = await this.acquire();
      this.holder = runner;
      this.holderFlow = flow;
      this.releaseHolder = done;
      try {
        await startTransaction(isolationLevel);
      } catch (error) {
        this.settle(runner);
        throw error;
      }
    };

    runner.commitTransaction = async () => {
      const host = guestOf.pop();
      if (host) return host.commitTransaction();
      try {
        await commitTransaction();
      } finally {
        this.settle(runner);
      }
    };

    runner.rollbackTransaction = async () => {
      const host = guestOf.pop();
      if (host) return host.rollbackTransaction();
      try {
        await rollbackTransaction();
      } finally {
        this.settle(runner);
      }
    };

    // A runner released mid-transaction must not keep the connection forever.
    runner.release = async () => {
      if (this.holder === runner && this.releaseHolder) await runner.rollbackTransaction().catch(() => undefined);
      return release();
    };
  }

  /** Lets the connection go once SQLite says the holder's transaction is over (however it ended). */
  private settle(runner: QueryRunner): void {
    if (this.holder !== runner || !this.releaseHolder || this.connection?.inTransaction) return;
    // TypeORM leaves these set when a BEGIN or ROLLBACK statement itself fails.
    const internals = runner as unknown as RunnerInternals;
    internals.isTransactionActive = false;
    internals.transactionDepth = 0;
    const done = this.releaseHolder;
    this.holder = undefined;
    this.holderFlow = undefined;
    this.releaseHolder = undefined;
    done();
  }
}

/** Runs `work` with the SQLite connection held for `runner`; without a gate, just runs it. */
export function holdSqliteConnection<T>(ds: DataSource, runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  const gate = gates.get(ds);
  return gate ? gate.hold(runner, work) : work();
}
