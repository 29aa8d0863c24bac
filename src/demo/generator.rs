//! The streaming generator: a pure, synchronous iterator of [`Chunk`]s, each a set of COPY text
//! buffers (one per table it touches). The data depends only on (seed, scale, end date): every
//! piece of work (a block of a day's conversations, a day of agent states, a block of campaign
//! records) draws from its own random stream, so the way pieces are grouped into chunks does
//! not change a single byte.

use super::activity::{Activity, Counters};
use super::calendar::Ms;
use super::copy::{CopyText, Table};
use super::rng::{Rng, stream};
use super::tenant::{TENANTS, Tenant};
use super::{campaigns, staff};
use chrono::NaiveDate;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    /// Conversations of the main tenant; the second tenant gets a tenth (at least one).
    pub scale: u32,
    pub seed: u64,
    /// The data covers the days before this date; its midnight (UTC) is the data set's "now".
    pub end_date: NaiveDate,
}

/// The rows of one table in one chunk, in COPY text format.
#[derive(Debug, Clone)]
pub struct TableData {
    pub table: Table,
    pub rows: u64,
    pub text: Vec<u8>,
}

/// A group of rows that is loaded with one COPY statement per table.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    /// Tables in load order (foreign keys satisfied within and across chunks).
    pub tables: Vec<TableData>,
}

impl Chunk {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn bytes(&self) -> usize {
        self.tables.iter().map(|t| t.text.len()).sum()
    }

    pub fn table(&self, table: Table) -> Option<&TableData> {
        self.tables.iter().find(|t| t.table == table)
    }
}

/// One COPY buffer per table, filled by the generators.
pub struct Tables {
    texts: Vec<CopyText>,
}

impl Default for Tables {
    fn default() -> Self {
        Self::new()
    }
}

impl Tables {
    pub fn new() -> Tables {
        Tables { texts: Table::ALL.iter().map(|_| CopyText::new()).collect() }
    }

    #[inline]
    pub fn get(&mut self, table: Table) -> &mut CopyText {
        &mut self.texts[table as usize]
    }

    pub fn rows(&self) -> u64 {
        self.texts.iter().map(CopyText::rows).sum()
    }

    pub fn into_chunk(self) -> Chunk {
        let tables = Table::ALL
            .iter()
            .zip(self.texts)
            .filter(|(_, t)| !t.is_empty())
            .map(|(table, t)| TableData { table: *table, rows: t.rows(), text: t.into_bytes() })
            .collect();
        Chunk { tables }
    }
}

/// Conversations per random stream (a day is split into blocks of this many).
const BLOCK: u32 = 2_000;
/// Conversations per chunk (at least; whole blocks).
const CHUNK_CONVERSATIONS: u32 = 10_000;
/// Agent-state rows per chunk (at least; whole days).
const CHUNK_AGENT_STATES: u64 = 25_000;
/// Campaign records per random stream, and per chunk.
const CAMPAIGN_BLOCK: u32 = 2_500;
const CAMPAIGN_BLOCKS_PER_CHUNK: u32 = 2;

#[derive(Debug, Clone, Copy)]
enum Stage {
    Lookups,
    Conversations { tenant: usize, day: usize, block: u32 },
    AgentStates { tenant: usize, day: usize },
    Campaigns { tenant: usize, block: u32 },
    Done,
}

struct TenantRun {
    tenant: Tenant,
    counters: Counters,
}

/// The iterator returned by [`generate`].
pub struct Generator {
    tenants: Vec<TenantRun>,
    stage: Stage,
}

/// Generates the demo data set for `spec`, chunk by chunk.
pub fn generate(spec: &DemoSpec) -> Generator {
    let tenants = TENANTS
        .iter()
        .enumerate()
        .map(|(i, def)| TenantRun {
            tenant: Tenant::plan(def, i, spec.seed, spec.scale, spec.end_date),
            counters: Counters::default(),
        })
        .collect();
    Generator { tenants, stage: Stage::Lookups }
}

impl Generator {
    /// A rough forecast of the rows the whole data set will have (for progress display).
    pub fn estimated_rows(&self) -> u64 {
        self.tenants
            .iter()
            .map(|r| {
                let t = &r.tenant;
                let conversations = u64::from(t.conversations);
                let states = (t.states_per_shift * t.total_shifts as f64 * 1.02) as u64;
                let lookups = (t.agents.len() * 4 + t.queues.len() + t.channels.len() + 20) as u64;
                conversations * 595 / 100 + states + u64::from(t.campaign_records) * 9 / 2 + lookups
            })
            .sum()
    }

    /// Conversations per tenant, in tenant order.
    pub fn conversations(&self) -> Vec<(&'static str, u32)> {
        self.tenants.iter().map(|r| (r.tenant.def.id, r.tenant.conversations)).collect()
    }

    /// The "now" of the data set (UTC midnight of the end date), in milliseconds.
    pub fn cutoff(&self) -> Ms {
        self.tenants[0].tenant.cutoff()
    }

    fn advance(&mut self, tables: &mut Tables) -> bool {
        match self.stage {
            Stage::Lookups => {
                for run in &self.tenants {
                    run.tenant.write_lookups(tables);
                }
                self.stage = Stage::Conversations { tenant: 0, day: 0, block: 0 };
                true
            }
            Stage::Conversations { tenant, day, block } => {
                let run = &mut self.tenants[tenant];
                let days = run.tenant.calendar.len();
                let mut produced = 0;
                let (mut day, mut block) = (day, block);
                while day < days && produced < CHUNK_CONVERSATIONS {
                    let count = run.tenant.day_counts[day];
                    let first = block * BLOCK;
                    if first >= count {
                        day += 1;
                        block = 0;
                        continue;
                    }
                    let n = (count - first).min(BLOCK);
                    let rng =
                        Rng::new(&run.tenant.key, stream::CONVERSATIONS | ((day as u64) << 20) | u64::from(block));
                    Activity::new(&run.tenant, day, rng, tables, &mut run.counters).run(n);
                    produced += n;
                    block += 1;
                }
                self.stage = if day < days {
                    Stage::Conversations { tenant, day, block }
                } else {
                    Stage::AgentStates { tenant, day: 0 }
                };
                produced > 0
            }
            Stage::AgentStates { tenant, day } => {
                let run = &mut self.tenants[tenant];
                let days = run.tenant.calendar.len();
                let mut day = day;
                let before = tables.rows();
                while day < days && tables.rows() - before < CHUNK_AGENT_STATES {
                    let mut rng = Rng::new(&run.tenant.key, stream::AGENT_STATES | day as u64);
                    staff::write_day(&run.tenant, day, &mut rng, &mut run.counters, tables);
                    day += 1;
                }
                self.stage =
                    if day < days { Stage::AgentStates { tenant, day } } else { Stage::Campaigns { tenant, block: 0 } };
                tables.rows() > before
            }
            Stage::Campaigns { tenant, block } => {
                let run = &mut self.tenants[tenant];
                let total = run.tenant.campaign_records;
                let mut block = block;
                let mut produced = 0;
                while block * CAMPAIGN_BLOCK < total && produced < CAMPAIGN_BLOCKS_PER_CHUNK * CAMPAIGN_BLOCK {
                    let n = (total - block * CAMPAIGN_BLOCK).min(CAMPAIGN_BLOCK);
                    let mut rng = Rng::new(&run.tenant.key, stream::CAMPAIGN_RECORDS | u64::from(block));
                    campaigns::write_records(&run.tenant, &mut rng, n, tables);
                    produced += n;
                    block += 1;
                }
                self.stage = if block * CAMPAIGN_BLOCK < total {
                    Stage::Campaigns { tenant, block }
                } else if tenant + 1 < self.tenants.len() {
                    Stage::Conversations { tenant: tenant + 1, day: 0, block: 0 }
                } else {
                    Stage::Done
                };
                produced > 0
            }
            Stage::Done => false,
        }
    }
}

impl Iterator for Generator {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        loop {
            if matches!(self.stage, Stage::Done) {
                return None;
            }
            let mut tables = Tables::new();
            if self.advance(&mut tables) {
                return Some(tables.into_chunk());
            }
        }
    }
}
