using TraceAgent.Instrumentation.EntityFrameworkCore;

namespace TraceAgent.Tests.Instrumentations.EntityFrameworkCore;

// EF Core spans name their database by the ADO.NET command type; the values are the well-known
// db.system.name values: https://opentelemetry.io/docs/specs/semconv/registry/attributes/db/
public sealed class EntityFrameworkCoreSystemTests
{
    [Theory]
    [InlineData("Microsoft.Data.Sqlite.SqliteCommand", "sqlite")]
    [InlineData("Microsoft.Data.SqlClient.SqlCommand", "microsoft.sql_server")]
    [InlineData("System.Data.SqlClient.SqlCommand", "microsoft.sql_server")]
    [InlineData("Npgsql.NpgsqlCommand", "postgresql")]
    [InlineData("MySqlConnector.MySqlCommand", "mysql")]
    [InlineData("Oracle.ManagedDataAccess.Client.OracleCommand", "oracle.db")]
    [InlineData("FirebirdSql.Data.FirebirdClient.FbCommand", "other_sql")]
    public void Command_type_gives_db_system_name(string commandType, string expected) =>
        Assert.Equal(expected, EntityFrameworkCoreInstrumentation.SystemName(commandType));
}
